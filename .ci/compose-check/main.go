// Command compose-check loads Compose files the way `docker compose config` does (compose-go is the
// library Docker Compose v2 itself uses): schema validation, interpolation, merging of overrides
// and the model's own consistency checks. CI runs it instead of Docker Compose, which would need a
// Docker engine and a long build.
//
//	go run ./.ci/compose-check docker-compose.yml [docker-compose.cloud.yml]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	files := os.Args[1:]
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE [FILE…]")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(files, cli.WithOsEnv, cli.WithDotEnv)
	if err == nil {
		project, loadErr := cli.ProjectFromOptions(context.Background(), options)
		err = loadErr
		if err == nil {
			fmt.Printf("compose-check: %v valid; services %v\n", files, project.ServiceNames())
			// COMPOSE_CHECK_PRINT=1 prints the merged model, like `docker compose config`.
			if os.Getenv("COMPOSE_CHECK_PRINT") == "1" {
				out, marshalErr := project.MarshalYAML()
				if marshalErr != nil {
					fmt.Fprintln(os.Stderr, marshalErr)
					os.Exit(1)
				}
				fmt.Print(string(out))
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "compose-check: %v: %v\n", files, err)
	os.Exit(1)
}

# One Dockerfile, one target per service:
#   docker build --target api -t activity-logger-api .
#   docker build --target worker -t activity-logger-worker .
# Node 26 is the current LTS line; the code is also tested on Node 20.
ARG NODE_IMAGE=node:26-slim

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY services/api/package.json services/api/
COPY services/worker/package.json services/worker/

FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY services ./services
RUN npm run build

FROM manifests AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# kafkajs 2.2.4 (unmaintained) arms a timer with a negative delay whenever its request queue is
# idle; Node has always run such a timer after 1 ms, and since Node 24 it also prints a
# TimeoutNegativeWarning to stderr, in the middle of the JSON logs. Same behaviour, without the line.
ENV NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
WORKDIR /app
COPY --from=prod-deps /app/package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/services/shared/package.json services/shared/
COPY --from=build /app/services/shared/dist services/shared/dist
USER node

FROM runtime AS api
COPY --from=build /app/services/api/package.json services/api/
COPY --from=build /app/services/api/dist services/api/dist
# Public API on PORT (3000); /healthz, /readyz and /metrics on OPS_PORT (3002).
EXPOSE 3000 3002
CMD ["node", "services/api/dist/main.js"]

FROM runtime AS worker
COPY --from=build /app/services/worker/package.json services/worker/
COPY --from=build /app/services/worker/dist services/worker/dist
# /healthz, /readyz and /metrics on OPS_PORT (3001). The same image runs the topic-creation
# step: `node services/worker/dist/create-topics.js`.
EXPOSE 3001
CMD ["node", "services/worker/dist/main.js"]

import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from 'testcontainers';
import { freePort } from '../support/service-process';

/**
 * Where the integration tests find their servers, in this order:
 *   1. KAFKA_BROKERS / MONGODB_URI, when set (a stack someone already runs);
 *   2. testcontainers with the real apache/kafka and mongo images, when a Docker engine answers;
 *   3. the repository's local stack (scripts/stack), brought up if it is not running.
 * Whatever this starts, `stop` stops, and nothing else.
 */
export interface Servers {
  readonly kafkaBrokers: string;
  readonly mongoUri: string;
  stop(): Promise<void>;
}

const KAFKA_IMAGE = 'apache/kafka:4.1.1';
const MONGO_IMAGE = 'mongo:8.0';
const stackScript = path.resolve(__dirname, '../../scripts/stack/stack.sh');
const run = promisify(execFile);

export async function provideServers(env: NodeJS.ProcessEnv): Promise<Servers> {
  if (env.KAFKA_BROKERS && env.MONGODB_URI) {
    return { kafkaBrokers: env.KAFKA_BROKERS, mongoUri: env.MONGODB_URI, stop: async () => {} };
  }
  if (await dockerAnswers()) return startContainers();
  return startLocalStack();
}

async function dockerAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startContainers(): Promise<Servers> {
  // The broker must advertise an address the host can reach, which is only known once a port is
  // mapped; choosing a free host port first and using it on both sides sidesteps that.
  const port = await freePort();
  const kafka = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
    .start();
  let mongo: StartedTestContainer;
  try {
    mongo = await new GenericContainer(MONGO_IMAGE)
      .withExposedPorts(27017)
      .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
      .start();
  } catch (error) {
    await kafka.stop();
    throw error;
  }
  return {
    kafkaBrokers: `127.0.0.1:${port}`,
    mongoUri: `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}`,
    stop: async () => {
      await Promise.all([kafka.stop(), mongo.stop()]);
    },
  };
}

async function startLocalStack(): Promise<Servers> {
  // Up already: this checkout's stack, or servers on the same ports that someone else runs
  // (another checkout's stack, `docker compose up`). Either way they are used and left running.
  const alreadyUp =
    (await run('bash', [stackScript, 'status']).then(
      () => true,
      () => false,
    )) ||
    ((await portAnswers(9092)) && (await portAnswers(27017)));
  if (!alreadyUp) {
    try {
      await run('bash', [stackScript, 'up'], { maxBuffer: 10 * 1024 * 1024 });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`could not start the local stack (npm run stack:up):\n${stdout}${stderr}`);
    }
  }
  return {
    kafkaBrokers: '127.0.0.1:9092',
    mongoUri: 'mongodb://127.0.0.1:27017',
    // Servers that were already running belong to whoever started them.
    stop: async () => {
      if (!alreadyUp) await run('bash', [stackScript, 'down']);
    },
  };
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

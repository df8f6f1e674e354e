// `sluice/testing`: run a job in a test, on virtual time, with no Kafka.
export { testDriver, type PipedRecord, type TestDriver, type TestDriverOptions, type TestInput, type TestOutput } from './testDriver.ts';
export { parseDuration } from '../../core/duration.ts';

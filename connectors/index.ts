export { collectSink, type CollectSink } from './collectSink.ts';
export { consoleSink } from './consoleSink.ts';
export { deadLetterFileSink, describeDeadLetter } from './deadLetterFileSink.ts';
export { generatorSource, hashPartition, type GeneratorSourceOptions } from './generatorSource.ts';
export { jsonDecoder } from '../core/decode.ts';
export { jsonlFileSource, type JsonlFileSourceOptions } from './jsonlFileSource.ts';
export { jsonlFileSink, type JsonlFileSinkOptions } from './jsonlFileSink.ts';
export {
  DEAD_LETTER_HEADERS,
  kafkaDeadLetterSink,
  kafkaSink,
  kafkaSource,
  kafkaTuning,
  type KafkaDeadLetterSinkOptions,
  type KafkaSinkOptions,
  type KafkaSourceOptions,
  type KafkaTuning,
} from './kafka/index.ts';

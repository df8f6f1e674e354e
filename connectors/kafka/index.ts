export { createKafka, DEFAULT_KAFKA_TUNING, kafkaTuning, type KafkaTuning } from './config.ts';
export { brokersUnreachable, describeKafkaError, isTransientKafkaError } from './errors.ts';
export { outputHeaders, readHeaders, traceFromHeaders } from './headers.ts';
export { DEAD_LETTER_HEADERS, kafkaDeadLetterSink, type KafkaDeadLetterSinkOptions } from './producer/kafkaDeadLetterSink.ts';
export { kafkaSink, type KafkaSinkOptions } from './producer/kafkaSink.ts';
export { kafkaSource, type KafkaSourceOptions } from './consumer/kafkaSource.ts';
export { OffsetLedger, type OffsetCommit } from './consumer/offsetLedger.ts';

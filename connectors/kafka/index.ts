export { createKafka, DEFAULT_KAFKA_TUNING, kafkaTuning, type KafkaTuning } from './config.ts';
export { brokersUnreachable, describeKafkaError, isTransientKafkaError } from './errors.ts';
export { outputHeaders, readHeaders, traceFromHeaders } from './headers.ts';
export { DEAD_LETTER_HEADERS, kafkaDeadLetterSink, type KafkaDeadLetterSinkOptions } from './kafkaDeadLetterSink.ts';
export { kafkaSink, type KafkaSinkOptions } from './kafkaSink.ts';
export { kafkaSource, type KafkaSourceOptions } from './kafkaSource.ts';
export { OffsetLedger, type OffsetCommit } from './offsetLedger.ts';

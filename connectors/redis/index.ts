export { connectRedis, redisUrl, withTimeout, type RedisClientOptions, type RedisConnection } from './client.ts';
export { decodeValue, encodeRow, entityKey, EVENT_TIME_FIELD, WRITTEN_AT_FIELD } from './encode.ts';
export { Lookup, type EntityFeatures, type FeatureStatus, type LookupOptions, type LookupStats, type ServedValue } from './lookup.ts';
export { Materializer, type MaterializerOptions, type MaterializeStats } from './materializer.ts';
export { onlineStore, type OnlineStore, type OnlineStoreOptions, type OnlineStoreStats } from './onlineStore.ts';

export { connectRedis, redisUrl, withTimeout, type RedisClientOptions, type RedisConnection } from './client.ts';
export { decodeRow, decodeValue, encodeRow, entityKey, EVENT_TIME_FIELD, storedRow, WRITTEN_AT_FIELD, type StoredRow } from './encode.ts';
export { Lookup, type EntityFeatures, type FeatureStatus, type LookupOptions, type LookupStats, type ServedValue } from './lookup.ts';
export { Materializer, type MaterializerOptions, type MaterializeStats } from './materializer.ts';
export { onlineStore, type OnlineStore, type OnlineStoreOptions, type OnlineStoreStats } from './onlineStore.ts';

import type { PartitionAssigner } from 'kafkajs';

export declare const LEADER_SYNC_DELAY_MS: number;
export declare const mockSafeAssigner: PartitionAssigner;

/** Types of test/kit/kafkajsUpstream.mjs. */
export declare function upstreamSources(): Map<string, string>;
export declare function useUpstreamKafkajs(): Map<string, { exports: unknown }>;
export declare function freshKafkajs(file: string, variant: 'upstream' | 'installed'): unknown;

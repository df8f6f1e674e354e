// `node --import ./bench/sideBySide/upstreamKafkajs.mjs ...`: this process runs kafkajs 2.2.4 as
// published (patches/kafkajs+2.2.4.patch taken back out), for the "before" rows of
// npm run bench:side-by-side. Worker threads inherit the --import and do the same.
import { useUpstreamKafkajs } from '../../test/kit/kafkajsUpstream.mjs';

useUpstreamKafkajs();

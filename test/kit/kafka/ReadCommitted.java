import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Kafka's own read_committed reader, as ground truth for the exactly-once tests: reads every
 * partition of a topic from its start to its last stable offset and prints one line per record,
 * "partition offset base64(key) base64(value)". Run with the kit's jars:
 * java -cp '<libs>/*' test/kit/kafka/ReadCommitted.java <bootstrap> <topic>
 */
public class ReadCommitted {
  public static void main(String[] args) {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("isolation.level", "read_committed");
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    Base64.Encoder b64 = Base64.getEncoder();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(args[1]).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      long deadline = System.currentTimeMillis() + 60_000;
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
        if (System.currentTimeMillis() > deadline) throw new RuntimeException("not read to the end within 60 s");
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() >= ends.get(new TopicPartition(r.topic(), r.partition()))) continue;
          System.out.println(r.partition() + " " + r.offset() + " " + (r.key() == null ? "-" : b64.encodeToString(r.key())) + " " + (r.value() == null ? "-" : b64.encodeToString(r.value())));
        }
      }
    }
  }
}

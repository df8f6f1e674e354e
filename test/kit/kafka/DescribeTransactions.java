import java.util.*;
import java.util.stream.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * What the brokers say about open transactions and stable offsets, for an exactly-once test
 * that failed: every transaction that is not complete (id, state, producer epoch, partitions,
 * age), and for each partition of the named topics the high watermark against the last stable
 * offset (a gap is an open transaction that read_committed readers wait behind), then the
 * group's committed offsets. Run with the kit's jars:
 * java -cp '<libs>/*' test/kit/kafka/DescribeTransactions.java <bootstrap> <group> <topic>...
 */
public class DescribeTransactions {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("request.timeout.ms", "15000");
    try (Admin admin = Admin.create(props)) {
      Collection<TransactionListing> listings = admin.listTransactions().all().get();
      List<String> ids = listings.stream().map(TransactionListing::transactionalId).collect(Collectors.toList());
      Map<String, TransactionDescription> described = ids.isEmpty() ? Map.of() : admin.describeTransactions(ids).all().get();
      long now = System.currentTimeMillis();
      for (String id : new TreeSet<>(described.keySet())) {
        TransactionDescription d = described.get(id);
        String age = d.transactionStartTimeMs().isPresent() ? (now - d.transactionStartTimeMs().getAsLong()) + " ms" : "-";
        System.out.println("transaction " + id + " " + d.state() + " epoch " + d.producerEpoch() + " coordinator " + d.coordinatorId() + " open for " + age + " partitions " + d.topicPartitions());
      }
      List<String> topics = Arrays.asList(args).subList(2, args.length);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (TopicDescription t : admin.describeTopics(topics).allTopicNames().get().values())
        t.partitions().forEach(p -> latest.put(new TopicPartition(t.name(), p.partition()), OffsetSpec.latest()));
      var high = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).all().get();
      var stable = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
      for (TopicPartition tp : new TreeSet<>(Comparator.comparing(TopicPartition::toString)) {{ addAll(latest.keySet()); }})
        System.out.println("partition " + tp + " high " + high.get(tp).offset() + " stable " + stable.get(tp).offset());
      var committed = admin.listConsumerGroupOffsets(args[1]).partitionsToOffsetAndMetadata().get();
      for (var e : new TreeMap<String, Object>(committed.entrySet().stream().collect(Collectors.toMap(e -> e.getKey().toString(), e -> (Object) e.getValue().offset()))).entrySet())
        System.out.println("committed " + e.getKey() + " " + e.getValue());
    }
  }
}

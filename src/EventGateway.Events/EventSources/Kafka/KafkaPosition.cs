using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using EventGateway.Events.Log;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// How a kafka event remembers how far it got. Both move only after the events of the messages in
/// question are durable; the difference is where the position lives.
/// </summary>
public interface IKafkaPosition
{
    /// <summary>The checkpoint to write in the same transaction as the events of <paramref name="last"/> and those before it, if this mode keeps one.</summary>
    SourceCheckpoint? CheckpointAfter(ConsumeResult<byte[]?, byte[]?> last);

    /// <summary>Called once the events of <paramref name="done"/> are durable.</summary>
    void Completed(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> done);
}

/// <summary>
/// Consumer group mode: store each partition's next offset with librdkafka once durable; its auto
/// commit sends stored offsets to the group coordinator. A crash between the two redelivers the
/// messages, which then become events with the same ids.
/// </summary>
public sealed class GroupPosition(IConsumer<byte[]?, byte[]?> consumer, Action<string> lost) : IKafkaPosition
{
    public SourceCheckpoint? CheckpointAfter(ConsumeResult<byte[]?, byte[]?> last) => null;

    public void Completed(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> done)
    {
        var next = new Dictionary<TopicPartition, long>();
        foreach (var m in done)
            if (!next.TryGetValue(m.TopicPartition, out var o) || m.Offset.Value + 1 > o) next[m.TopicPartition] = m.Offset.Value + 1;
        foreach (var (tp, offset) in next)
        {
            try
            {
                consumer.StoreOffset(new TopicPartitionOffset(tp, offset));
            }
            catch (KafkaException e)
            {
                // The partition was revoked meanwhile: its new owner reads these messages again (same ids).
                lost($"{tp.Topic}/{tp.Partition.Value}@{offset}: {e.Error.Reason}");
            }
        }
    }
}

/// <summary>
/// Partition mode: the next offset is the source's checkpoint in the event log, written in the same
/// transaction as the events, so a restart neither replays nor skips.
/// </summary>
public sealed class PartitionPosition(string key, string topic, int partition) : IKafkaPosition
{
    public SourceCheckpoint? CheckpointAfter(ConsumeResult<byte[]?, byte[]?> last) => At(last.Offset.Value + 1);

    public void Completed(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> done) { }

    public SourceCheckpoint At(long next) =>
        new(key, JsonSerializer.Serialize(new State(topic, partition, next), KafkaJson.Default.State));

    /// <summary>The stored next offset, when it is for this topic and partition (a changed spec starts afresh).</summary>
    public long? Read(string? stored)
    {
        if (stored is null) return null;
        try
        {
            var s = JsonSerializer.Deserialize(stored, KafkaJson.Default.State);
            return s is not null && s.Topic == topic && s.Partition == partition && s.Offset >= 0 ? s.Offset : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public sealed record State(string Topic, int Partition, long Offset);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PartitionPosition.State))]
internal sealed partial class KafkaJson : JsonSerializerContext;

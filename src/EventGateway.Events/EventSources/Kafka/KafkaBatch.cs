using System.Buffers;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// Turns one polled batch of messages into events and makes them durable with one append per
/// batch (or per share of the rate limit), then moves the position past them. A message that is
/// filtered out or rejected still moves the position: it was handled, and is counted on the status.
/// </summary>
public sealed partial class KafkaBatch(ListenerContext ctx, KafkaEventSource spec, IKafkaPosition position, EventRateLimiter? limiter)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);
    private readonly bool _jsonBody = spec.JsonBody == true;
    private readonly string? _filter = spec.Filter?.Expression;
    private readonly string _url = spec.Url ?? "";

    /// <summary>Messages with their events (null where a message was filtered or rejected).</summary>
    public sealed record Prepared(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> Messages, (string Id, ReadOnlyMemory<byte> Data, DateTimeOffset Time)?[] Events);

    /// <summary>Builds the events of a batch; separate from <see cref="PublishAsync"/> so the next batch can be built while one is being written.</summary>
    public Prepared Prepare(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        var events = new (string, ReadOnlyMemory<byte>, DateTimeOffset)?[batch.Count];
        for (var i = 0; i < batch.Count; i++) events[i] = ToEvent(batch[i]);
        return new Prepared(batch, events);
    }

    /// <summary>How long a stopping listener still waits for an append the log has already taken.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    public async Task PublishAsync(Prepared batch, CancellationToken ct)
    {
        var (messages, events) = (batch.Messages, batch.Events);
        var start = 0;
        while (start < messages.Count)
        {
            var end = limiter is null ? messages.Count : await AdmittedEndAsync(events, start, ct).ConfigureAwait(false);
            var publish = new List<(string, ReadOnlyMemory<byte>, DateTimeOffset)>(end - start);
            // A producer's traceparent header is continued: whoever may write to the topic is authenticated by the broker.
            var callers = ListenerContext.Traced ? new List<System.Diagnostics.ActivityContext>(end - start) : null;
            for (var i = start; i < end; i++)
                if (events[i] is { } e)
                {
                    publish.Add(e);
                    callers?.Add(CallerTrace.From(messages[i].Message.Headers));
                }
            await AppendAsync(publish, callers, position.CheckpointAfter(messages[end - 1]), ct).ConfigureAwait(false);
            position.Completed(start == 0 && end == messages.Count ? messages : Slice(messages, start, end));
            start = end;
        }
    }

    /// <summary>Where the share of events the rate limit admits now ends (waiting until at least one may pass).</summary>
    private async Task<int> AdmittedEndAsync((string, ReadOnlyMemory<byte>, DateTimeOffset)?[] events, int start, CancellationToken ct)
    {
        var wanted = 0;
        for (var i = start; i < events.Length; i++)
            if (events[i] is not null) wanted++;
        var granted = wanted == 0 ? 0 : await limiter!.AcquireAsync(wanted, ct).ConfigureAwait(false);
        var end = start;
        // Take the granted events and every skipped message up to the next event that was not granted.
        for (var taken = 0; end < events.Length && (events[end] is null || taken < granted); end++)
            if (events[end] is not null) taken++;
        return end;
    }

    private async Task AppendAsync(List<(string, ReadOnlyMemory<byte>, DateTimeOffset)> events, List<System.Diagnostics.ActivityContext>? callers,
        SourceCheckpoint? checkpoint, CancellationToken ct)
    {
        if (events.Count == 0 && checkpoint is null) return;
        while (true)
        {
            try
            {
                ct.ThrowIfCancellationRequested();
                var append = ctx.PublishManyAsync(events, checkpoint, CancellationToken.None, callers);
                try
                {
                    await append.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // Stopping: an append already handed to the log is usually durable a moment later, and only a
                    // completed append stores its offsets; waiting for it (bounded) spares the next run a replay.
                    try { await append.WaitAsync(StopGrace, ctx.Time).ConfigureAwait(false); }
                    catch (TimeoutException) { throw new OperationCanceledException(ct); }
                }
                return;
            }
            catch (EventLogUnavailableException e)
            {
                // The log refused the whole append (full or failing); the messages wait in Kafka meanwhile.
                LogLogUnavailable(ctx.Logger, ctx.EventName, e.Message, e.RetryAfter.TotalSeconds);
                await Task.Delay(e.RetryAfter, ctx.Time, ct).ConfigureAwait(false);
            }
        }
    }

    private (string, ReadOnlyMemory<byte>, DateTimeOffset)? ToEvent(ConsumeResult<byte[]?, byte[]?> m)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        if (KafkaEventData.Write(_writer, m, _jsonBody, spec.Metadata) is { } why)
        {
            ctx.Status.Reject("not JSON");
            LogSkipped(ctx.Logger, ctx.EventName, m.Topic, m.Partition.Value, m.Offset.Value, why);
            return null;
        }
        if (EventFilter.Check(_filter, _buffer.WrittenSpan) is { } filtered)
        {
            ctx.Status.Reject("filtered");
            LogFiltered(ctx.Logger, ctx.EventName, m.Topic, m.Partition.Value, m.Offset.Value, filtered);
            return null;
        }
        var id = KafkaEventData.Id(ctx.SourceName, ctx.EventName, _url, m.Topic, m.Partition.Value, m.Offset.Value);
        return (id, _buffer.WrittenSpan.ToArray(), KafkaEventData.TimeOf(m.Message) ?? ctx.Time.GetUtcNow());
    }

    private static List<ConsumeResult<byte[]?, byte[]?>> Slice(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch, int start, int end)
    {
        var part = new List<ConsumeResult<byte[]?, byte[]?>>(end - start);
        for (var i = start; i < end; i++) part.Add(batch[i]);
        return part;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "kafka event {Event}: message {Topic}/{Partition}@{Offset} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger log, string @event, string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "kafka event {Event}: message {Topic}/{Partition}@{Offset} not published: {Reason}")]
    private static partial void LogFiltered(ILogger log, string @event, string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kafka event {Event}: event log unavailable ({Reason}); retrying in {Seconds}s")]
    private static partial void LogLogUnavailable(ILogger log, string @event, string reason, double seconds);
}

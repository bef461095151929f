using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Kafka;
using EventGateway.Model;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// Argo's <c>kafka</c> source on librdkafka. With <c>consumerGroup</c> it joins the group and subscribes
/// to the topic; otherwise it reads the one <c>partition</c>, starting from the newest message on its
/// first start and from its checkpoint ever after. Messages are polled in batches; each batch becomes
/// one durable append, and only then does the position move (at least once: a crash in between
/// redelivers messages, which become events with the same ids).
/// </summary>
public sealed partial class KafkaListener(KafkaEventSource spec) : IEventListener
{
    /// <summary>Partition mode keeps its own position; a consumer group is shared out by Kafka across the replicas.</summary>
    public bool Exclusive(EventSource source) => spec.ConsumerGroup is null;

    /// <summary>Most messages one append takes.</summary>
    public const int MaxBatch = 1000;

    private static readonly TimeSpan PollWait = TimeSpan.FromMilliseconds(100);

    /// <summary>How long one connection attempt may wait for the brokers to describe the topic.</summary>
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);

    public async Task RunAsync(ListenerContext ctx, CancellationToken ct)
    {
        KafkaNative.EnsureLoaded();
        var url = spec.Url ?? throw new InvalidOperationException("kafka: url is missing");
        var topic = spec.Topic ?? throw new InvalidOperationException("kafka: topic is missing");
        var retry = ConnectionRetry.From(spec.ConnectionBackoff);
        var (settings, ignored) = await KafkaClientConfig.BuildAsync(spec, ctx, ct).ConfigureAwait(false);
        var config = new ConsumerConfig(settings.ToDictionary(StringComparer.Ordinal));
        foreach (var path in ignored) LogConfigIgnored(ctx.Logger, ctx.EventName, path);
        if (spec.ConsumerGroup is not null && spec.Partition is not null) LogPartitionIgnored(ctx.Logger, ctx.EventName, spec.Partition);

        var limiter = spec.LimitEventsPerSecond is > 0 and var l ? new EventRateLimiter(l, ctx.Time) : null;
        var share = spec.ConsumerGroup is null ? null : new GroupShare(ctx, limiter);
        var (consumer, faults) = await ConnectAsync(ctx, config, url, topic, retry, share, ct).ConfigureAwait(false);
        using (consumer)
        {
            try
            {
                var position = await StartAsync(ctx, consumer, topic, ct).ConfigureAwait(false);
                ctx.Status.Listening($"kafka://{url}/{topic}");
                LogListening(ctx.Logger, ctx.EventName, url, topic, spec.ConsumerGroup?.GroupName ?? $"partition {spec.Partition}");
                // With a rate limit, a batch is at most a second's worth, so polls stay frequent enough for the group.
                var max = limiter is null ? MaxBatch : (int)Math.Clamp(spec.LimitEventsPerSecond!.Value, 1, MaxBatch);
                var publisher = new KafkaBatch(ctx, spec, position, limiter);
                // Polling blocks; give it a thread of its own rather than hold a pool thread for as long as the event runs.
                await Task.Factory.StartNew(() => Consume(ctx, consumer, faults, publisher, max, ct), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            }
            finally
            {
                // Leaves the group at once and commits the offsets stored so far (only those of durable events).
                if (spec.ConsumerGroup is not null)
                {
                    try { consumer.Close(); }
                    catch (KafkaException e) { LogCloseFailed(ctx.Logger, ctx.EventName, e.Error.Reason); }
                }
            }
        }
    }

    /// <summary>
    /// Polls and builds the next batch while the previous one is being written (two in flight at most),
    /// and moves the position of each only after its own append returned, in order.
    /// </summary>
    private static void Consume(ListenerContext ctx, IConsumer<byte[]?, byte[]?> consumer, BrokerFaults faults, KafkaBatch publisher, int max, CancellationToken ct)
    {
        Task writing = Task.CompletedTask;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var batch = new List<ConsumeResult<byte[]?, byte[]?>>(max);
                Poll(ctx, consumer, batch, max);
                faults.ThrowIfDown();
                if (batch.Count == 0)
                {
                    writing.GetAwaiter().GetResult();
                    continue;
                }
                var prepared = publisher.Prepare(batch);
                writing.GetAwaiter().GetResult();
                writing = publisher.PublishAsync(prepared, ct);
            }
            writing.GetAwaiter().GetResult();
        }
        finally
        {
            // Never leave an append running behind the consumer's back when the loop ends.
            if (!writing.IsCompleted) ((IAsyncResult)writing).AsyncWaitHandle.WaitOne();
        }
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>Waits briefly for a first message, then drains what librdkafka already holds, up to <paramref name="max"/>.</summary>
    private static void Poll(ListenerContext ctx, IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch, int max)
    {
        var wait = PollWait;
        while (batch.Count < max)
        {
            ConsumeResult<byte[]?, byte[]?>? m;
            try
            {
                m = consumer.Consume(wait);
            }
            catch (ConsumeException e) when (!e.Error.IsFatal && e.Error.Code is not (ErrorCode.UnknownTopicOrPart or ErrorCode.TopicAuthorizationFailed))
            {
                LogConsumeError(ctx.Logger, ctx.EventName, e.Error.Reason);
                return;
            }
            catch (ConsumeException e)
            {
                throw new InvalidOperationException($"kafka: {e.Error.Reason}", e);
            }
            if (m is null) return;
            if (!m.IsPartitionEOF) batch.Add(m);
            wait = TimeSpan.Zero;
        }
    }

    /// <summary>Partition mode: assign the partition at its checkpoint (first start: its current end, recorded at once).</summary>
    private async Task<IKafkaPosition> StartAsync(ListenerContext ctx, IConsumer<byte[]?, byte[]?> consumer, string topic, CancellationToken ct)
    {
        if (spec.ConsumerGroup is not null)
        {
            consumer.Subscribe(topic);
            return new GroupPosition(consumer, lost => LogStoreLost(ctx.Logger, ctx.EventName, lost));
        }
        var partition = int.Parse(spec.Partition!, NumberStyles.None, CultureInfo.InvariantCulture);
        var position = new PartitionPosition(ctx.StateKey("offset"), topic, partition);
        var tp = new TopicPartition(topic, partition);
        var next = position.Read(await ctx.Log.GetSourceStateAsync(ctx.StateKey("offset"), ct).ConfigureAwait(false));
        if (next is null)
        {
            // Argo starts at the newest message. Resolve it now and remember it, so messages sent while
            // this event is down later are still read.
            next = consumer.QueryWatermarkOffsets(tp, MetadataTimeout).High.Value;
            await ctx.PublishManyAsync([], position.At(next.Value), ct).ConfigureAwait(false);
        }
        consumer.Assign(new TopicPartitionOffset(tp, next.Value));
        return position;
    }

    /// <summary>Builds the consumer and asks the brokers about the topic, retrying per connectionBackoff.</summary>
    private async Task<(IConsumer<byte[]?, byte[]?>, BrokerFaults)> ConnectAsync(ListenerContext ctx, ConsumerConfig config, string url, string topic,
        ConnectionRetry retry, GroupShare? share, CancellationToken ct)
    {
        var random = new Random();
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var faults = new BrokerFaults(url);
            var builder = new ConsumerBuilder<byte[]?, byte[]?>(config)
                .SetKeyDeserializer(Deserializers.ByteArray)
                .SetValueDeserializer(Deserializers.ByteArray)
                .SetErrorHandler((_, e) => faults.Record(e, reason => LogKafkaError(ctx.Logger, ctx.EventName, reason)))
                .SetLogHandler((_, m) => LogLibrdkafka(ctx.Logger, ctx.EventName, m.Facility, m.Message));
            if (share is not null)
                builder.SetPartitionsAssignedHandler((_, parts) => share.Assigned(parts))
                    .SetPartitionsRevokedHandler((_, parts) => share.Revoked(parts.Select(p => p.TopicPartition)))
                    .SetPartitionsLostHandler((_, parts) => share.Revoked(parts.Select(p => p.TopicPartition)));
            var consumer = builder.Build();
            string failure;
            try
            {
                var partitions = CheckTopic(consumer, topic, faults);
                share?.TopicHas(partitions);
                faults.Connected();
                return (consumer, faults);
            }
            catch (KafkaConnectException e)
            {
                failure = e.Message;
                consumer.Dispose();
            }
            catch
            {
                consumer.Dispose();
                throw;
            }
            if (attempt >= retry.Steps) throw new InvalidOperationException($"{failure} (gave up after {attempt} attempts; retrying later)");
            var delay = retry.DelayBefore(attempt, random);
            // Say so at once rather than after every attempt has run out.
            if (attempt == 1) ctx.Status.Failed($"{failure} (retrying)");
            LogConnectFailed(ctx.Logger, ctx.EventName, failure, attempt, retry.Steps, delay.TotalSeconds);
            await Task.Delay(delay, ctx.Time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Checks the topic (and partition mode's partition) exist; returns how many partitions the topic has.</summary>
    private int CheckTopic(IConsumer<byte[]?, byte[]?> consumer, string topic, BrokerFaults faults)
    {
        Metadata metadata;
        try
        {
            using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
            metadata = admin.GetMetadata(topic, MetadataTimeout);
        }
        catch (KafkaException e)
        {
            throw new KafkaConnectException($"kafka: cannot reach {faults.Url}: {faults.LastError ?? e.Error.Reason}");
        }
        var t = metadata.Topics.FirstOrDefault(x => x.Topic == topic);
        if (t is null || t.Error.Code == ErrorCode.UnknownTopicOrPart)
            throw new KafkaConnectException($"kafka: topic '{topic}' does not exist on {faults.Url}");
        if (t.Error.IsError)
            throw new KafkaConnectException($"kafka: topic '{topic}' on {faults.Url}: {t.Error.Reason}");
        if (spec.ConsumerGroup is null)
        {
            var p = int.Parse(spec.Partition!, NumberStyles.None, CultureInfo.InvariantCulture);
            if (!t.Partitions.Any(x => x.PartitionId == p))
                throw new InvalidOperationException(
                    $"kafka: partition {p} is not available: topic '{topic}' has partitions {string.Join(", ", t.Partitions.Select(x => x.PartitionId).Order())}");
        }
        return t.Partitions.Count;
    }

    /// <summary>
    /// This member's partitions of a consumer group, kept from the rebalance callbacks (eager: each assignment is whole,
    /// and a revocation takes all; cooperative: both are increments), and the share of limitEventsPerSecond they carry.
    /// The partition count is the topic's when the listener connected.
    /// </summary>
    private sealed class GroupShare(ListenerContext ctx, EventRateLimiter? limiter)
    {
        private readonly HashSet<TopicPartition> _mine = [];
        private int _total;

        public void TopicHas(int partitions) => _total = partitions;

        public void Assigned(IEnumerable<TopicPartition> parts)
        {
            lock (_mine) { _mine.UnionWith(parts); Apply(); }
        }

        public void Revoked(IEnumerable<TopicPartition> parts)
        {
            lock (_mine) { _mine.ExceptWith(parts); Apply(); }
        }

        private void Apply()
        {
            limiter?.ShareOut(_mine.Count, _total);
            var ids = string.Join(",", _mine.Select(p => p.Partition.Value).Order());
            var rate = limiter is null ? "" : $"; limitEventsPerSecond {limiter.PerSecond.ToString("0.##", CultureInfo.InvariantCulture)}/s here";
            ctx.Status.Note($"consumer group member with partitions [{ids}] of {_total}{rate}");
        }
    }

    private sealed class KafkaConnectException(string message) : Exception(message);

    /// <summary>Errors librdkafka reports while running: the last one explains a failed connection; all brokers down ends the run.</summary>
    private sealed class BrokerFaults(string url)
    {
        private volatile string? _down;

        public string Url => url;
        public string? LastError { get; private set; }

        public void Record(Error e, Action<string> log)
        {
            LastError = e.Reason;
            log(e.Reason);
            if (e.IsFatal) _down = $"kafka: fatal error from {url}: {e.Reason}";
            else if (e.Code == ErrorCode.Local_AllBrokersDown) _down = $"kafka: all brokers of {url} are down: {e.Reason}";
        }

        /// <summary>Forgets what happened while connecting: the brokers answered since.</summary>
        public void Connected() => _down = null;

        /// <summary>Throws so the host restarts the listener, which reconnects with backoff and shows Failed meanwhile.</summary>
        public void ThrowIfDown()
        {
            if (_down is { } why) throw new InvalidOperationException(why);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "kafka event {Event}: consuming {Url}/{Topic} ({Mode})")]
    private static partial void LogListening(ILogger log, string @event, string url, string topic, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "kafka event {Event}: config field '{Path}' has no librdkafka equivalent here; ignored")]
    private static partial void LogConfigIgnored(ILogger log, string @event, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "kafka event {Event}: consumerGroup is set, so partition '{Partition}' is ignored (as in Argo)")]
    private static partial void LogPartitionIgnored(ILogger log, string @event, string partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kafka event {Event}: {Reason}; attempt {Attempt} of {Steps}, next in {Seconds:0.###}s")]
    private static partial void LogConnectFailed(ILogger log, string @event, string reason, int attempt, int steps, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kafka event {Event}: {Reason}")]
    private static partial void LogKafkaError(ILogger log, string @event, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kafka event {Event}: consume error: {Reason}")]
    private static partial void LogConsumeError(ILogger log, string @event, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "kafka event {Event}: librdkafka {Facility}: {Message}")]
    private static partial void LogLibrdkafka(ILogger log, string @event, string facility, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "kafka event {Event}: offset not stored, partition no longer assigned ({What}); its new owner reads it again")]
    private static partial void LogStoreLost(ILogger log, string @event, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "kafka event {Event}: closing the consumer failed: {Reason}")]
    private static partial void LogCloseFailed(ILogger log, string @event, string reason);
}

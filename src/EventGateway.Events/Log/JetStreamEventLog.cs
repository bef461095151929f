using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace EventGateway.Events.Log;

/// <summary>
/// The event log as a NATS JetStream stream, so several processes can share one bus (Argo Events' EventBus).
/// An append publishes each event and completes only once JetStream acknowledged every one; the stream sequence
/// is the event's sequence (monotonic, never reused). Each publish carries Nats-Msg-Id = namespace/source/id
/// (CloudEvents' identity), so a retried publish inside the duplicate window is stored once and answers with
/// the first sequence. A source checkpoint goes to a KV bucket only after its events were acknowledged: a
/// crash in between re-sends events that the duplicate window absorbs, never skips any.
/// Retention is the stream's limits (max age, max messages, discard old), enforced by the server.
/// </summary>
public sealed partial class JetStreamEventLog : IEventLog, IAsyncDisposable
{
    public const string DefaultStream = "EGW_EVENTS";

    /// <summary>How long JetStream remembers a message id: a sender's retry within this is stored once.</summary>
    public static readonly TimeSpan DuplicateWindow = TimeSpan.FromMinutes(2);

    private readonly NatsConnection _nats;
    private readonly NatsJSContext _js;
    private readonly INatsKVStore _state;
    private readonly string _stream;
    private readonly string _prefix;
    private readonly EventLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _tail;
    private long _lastSequence;
    /// <summary>The newest sequence the tail consumer delivered (and <see cref="_recent"/> holds).</summary>
    private long _tailSequence;
    private TaskCompletionSource _tailed = NewSignal();
    private readonly RecentEvents _recent;
    private long _pendingEvents;
    private long _pendingBytes;
    /// <summary>When the bus last failed an append while connected (ticks of the TimeProvider's clock); 0: not failing.</summary>
    private long _failedAt;

    /// <summary>
    /// How long a failed append keeps <see cref="AcceptsWrites"/> false. It lapses on its own: readiness must come
    /// back for traffic (and so a succeeding append) to return once JetStream recovers behind a live connection.
    /// </summary>
    public static readonly TimeSpan FailureHold = TimeSpan.FromSeconds(5);
    private volatile bool _closing;
    private TaskCompletionSource _appended = NewSignal();

    private JetStreamEventLog(NatsConnection nats, NatsJSContext js, INatsKVStore state, string stream, long lastSequence,
        EventLogOptions options, TimeProvider time, ILogger log)
    {
        (_nats, _js, _state, _stream, _options, _time, _log) = (nats, js, state, stream, options, time, log);
        _prefix = "egw.events." + stream;
        _lastSequence = lastSequence;
        _tailSequence = lastSequence;
        // Never more than the stream keeps, so nothing is served here that retention already removed there.
        _recent = new RecentEvents((int)Math.Min(4096, options.RetentionMaxEvents), 64L * 1024 * 1024, options.RetentionMaxAge, time);
        _tail = Task.Run(TailAsync);
    }

    /// <summary>Connects, creates or updates the stream and the checkpoint bucket. Fails with a clear message when the server cannot be reached.</summary>
    public static async Task<JetStreamEventLog> OpenAsync(string url, EventLogOptions options, TimeProvider time, ILogger<JetStreamEventLog> log,
        string stream = DefaultStream, CancellationToken ct = default)
    {
        options.Validate();
        var nats = new NatsConnection(NatsOpts.Default with
        {
            Url = url,
            Name = "egw",
            RequestTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            MaxReconnectRetry = -1, // a bus outage is waited out: appends answer 503 meanwhile
        });
        try
        {
            await nats.ConnectAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15), ct).ConfigureAwait(false);
            var js = new NatsJSContext(nats);
            var config = new StreamConfig(stream, ["egw.events." + stream + ".>"])
            {
                Storage = StreamConfigStorage.File,
                Retention = StreamConfigRetention.Limits,
                Discard = StreamConfigDiscard.Old,
                MaxAge = options.RetentionMaxAge,
                MaxMsgs = options.RetentionMaxEvents,
                DuplicateWindow = DuplicateWindow,
                AllowDirect = true,
            };
            var s = await js.CreateOrUpdateStreamAsync(config, ct).ConfigureAwait(false);
            var kv = new NatsKVContext(js);
            var state = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(stream + "_sources") { History = 1, Storage = NatsKVStorageType.File }, ct).ConfigureAwait(false);
            return new JetStreamEventLog(nats, js, state, stream, (long)s.Info.State.LastSeq, options, time, log);
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            await nats.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"cannot open the event bus at {url} (stream {stream}): {e.Message}", e);
        }
    }

    public bool AcceptsWrites => !_closing && !RecentlyFailed && _nats.ConnectionState == NatsConnectionState.Open
        && Interlocked.Read(ref _pendingEvents) < _options.MaxPendingEvents && Interlocked.Read(ref _pendingBytes) < _options.MaxPendingBytes;

    public async Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<EventToAppend> events, SourceCheckpoint? checkpoint = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0 && checkpoint is null) return [];
        if (_closing) throw new EventLogUnavailableException("event log is shutting down");
        if (_nats.ConnectionState != NatsConnectionState.Open)
            throw new EventLogUnavailableException($"event bus is unreachable (connection {_nats.ConnectionState})") { RetryAfter = TimeSpan.FromSeconds(2) };
        long bytes = 0;
        foreach (var e in events) bytes += e.Event.Data.Length + 256;
        // Admission bounds what waits for JetStream, as the embedded log bounds its queue.
        if (Interlocked.Add(ref _pendingEvents, events.Count) > _options.MaxPendingEvents
            | Interlocked.Add(ref _pendingBytes, bytes) > _options.MaxPendingBytes)
        {
            Release(events.Count, bytes);
            throw new EventLogUnavailableException(
                $"event log is full ({_options.MaxPendingEvents} events or {_options.MaxPendingBytes / (1024 * 1024)} MiB waiting to be written)");
        }
        // Once started, the publishes finish even if the caller stops waiting (and hold their admission until then):
        // a sender that gave up retries, and the duplicate window absorbs what did get through.
        var work = PublishAndReleaseAsync(events, checkpoint, bytes);
        return ct.CanBeCanceled ? await work.WaitAsync(ct).ConfigureAwait(false) : await work.ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<long>> PublishAndReleaseAsync(IReadOnlyList<EventToAppend> events, SourceCheckpoint? checkpoint, long bytes)
    {
        try
        {
            return await PublishAsync(events, checkpoint).ConfigureAwait(false);
        }
        finally
        {
            Release(events.Count, bytes);
        }
    }

    private bool RecentlyFailed => Interlocked.Read(ref _failedAt) is var at && at != 0 && _time.GetUtcNow().UtcTicks - at < FailureHold.Ticks;

    private async Task<IReadOnlyList<long>> PublishAsync(IReadOnlyList<EventToAppend> events, SourceCheckpoint? checkpoint)
    {
        var seqs = new long[events.Count];
        var received = _time.GetUtcNow();
        var payloads = events.Select(x => JetStreamEnvelope.Encode(x.Namespace, x.Event, received)).ToList();
        // Checked before anything is sent, so an oversized event refuses the whole append instead of half of it.
        var maxPayload = _nats.ServerInfo?.MaxPayload ?? int.MaxValue;
        for (var i = 0; i < payloads.Count; i++)
            if (payloads[i].Length > maxPayload)
                throw new EventLogUnavailableException($"event {events[i].Event.Id} is {payloads[i].Length} bytes stored, over the event bus's max_payload of {maxPayload} bytes " +
                    "(raise max_payload in the nats-server configuration above the sources' maxPayloadSize)");
        try
        {
            // In order, one at a time: an append's events get increasing sequences, as in the embedded log.
            for (var i = 0; i < events.Count; i++)
            {
                var (ns, e) = (events[i].Namespace, events[i].Event);
                var ack = await _js.PublishAsync(JetStreamEnvelope.Subject(_prefix, ns, e), payloads[i],
                    opts: new NatsJSPubOpts { MsgId = MessageId(ns, e), ExpectedStream = _stream }).ConfigureAwait(false);
                if (ack.Error is { } err)
                    throw new EventLogUnavailableException($"event bus refused event {e.Id}: {err.Description} (JetStream error {err.ErrCode})");
                seqs[i] = (long)ack.Seq;
            }
            if (checkpoint is not null)
                await _state.PutAsync(JetStreamEnvelope.Token(checkpoint.Key), checkpoint.Value).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException or EventLogUnavailableException)
        {
            Interlocked.Exchange(ref _failedAt, _time.GetUtcNow().UtcTicks);
            LogWriteFailed(_log, e, events.Count);
            throw e as EventLogUnavailableException ?? new EventLogUnavailableException($"event bus did not acknowledge the events: {e.Message}", e)
                { RetryAfter = TimeSpan.FromSeconds(2) };
        }
        Interlocked.Exchange(ref _failedAt, 0);
        if (seqs.Length > 0) Advance(seqs.Max());
        return seqs;
    }

    /// <summary>CloudEvents identify an event by source and id; the namespace keeps two EventSources of one name apart.</summary>
    internal static string MessageId(string ns, CloudEvent e) => $"{ns}/{e.Source}/{e.Id}";

    private void Release(int events, long bytes)
    {
        Interlocked.Add(ref _pendingEvents, -events);
        Interlocked.Add(ref _pendingBytes, -bytes);
    }

    private void Advance(long sequence)
    {
        var current = Volatile.Read(ref _lastSequence);
        while (sequence > current)
        {
            var seen = Interlocked.CompareExchange(ref _lastSequence, sequence, current);
            if (seen == current)
            {
                Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();
                return;
            }
            current = seen;
        }
    }

    /// <summary>
    /// Follows the stream: waiting readers wake for events other processes appended too, and the newest events
    /// are kept for readers just behind the head. An ordered consumer recreates itself across reconnects; this
    /// loop covers what it gives up on.
    /// </summary>
    private async Task TailAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var consumer = await _js.CreateOrderedConsumerAsync(_stream, new NatsJSOrderedConsumerOpts
                {
                    DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = (ulong)Volatile.Read(ref _tailSequence) + 1,
                }, _stop.Token).ConfigureAwait(false);
                await foreach (var m in consumer.ConsumeAsync<byte[]>(cancellationToken: _stop.Token).ConfigureAwait(false))
                {
                    if (m.Metadata is not { } md) continue;
                    var seq = (long)md.Sequence.Stream;
                    _recent.Add(JetStreamEnvelope.Decode(seq, m.Data ?? []));
                    Volatile.Write(ref _tailSequence, seq);
                    Interlocked.Exchange(ref _tailed, NewSignal()).TrySetResult();
                    Advance(seq);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogTailFailed(_log, e);
                try { await Task.Delay(TimeSpan.FromSeconds(1), _time, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>How long a reader just behind the head waits for the tail to deliver what an append already acknowledged.</summary>
    private static readonly TimeSpan TailCatchUp = TimeSpan.FromMilliseconds(200);

    public async Task<IReadOnlyList<LoggedEvent>> ReadAsync(long afterSequence, int max, CancellationToken ct = default)
    {
        if (max <= 0) return [];
        var all = _prefix + ".>";
        var wanted = Math.Min(Volatile.Read(ref _lastSequence), afterSequence + max);
        if (Volatile.Read(ref _tailSequence) < wanted) await TailReachesAsync(wanted, ct).ConfigureAwait(false);
        if (_recent.TryRead(afterSequence, max) is not { } recent)
            return await ScanAsync(afterSequence + 1, long.MaxValue, all, max, ct).ConfigureAwait(false);
        // The tail may still lag behind what appends acknowledged: the rest comes from the stream itself.
        var last = recent.Count > 0 ? recent[^1].Sequence : afterSequence;
        if (recent.Count < max && last < Volatile.Read(ref _lastSequence))
            recent.AddRange(await ScanAsync(last + 1, long.MaxValue, all, max - recent.Count, ct).ConfigureAwait(false));
        return recent;
    }

    /// <summary>Waits (briefly) until the tail delivered <paramref name="sequence"/>: it usually follows an acknowledgement within a millisecond.</summary>
    private async Task TailReachesAsync(long sequence, CancellationToken ct)
    {
        var deadline = Environment.TickCount64 + (long)TailCatchUp.TotalMilliseconds;
        while (Volatile.Read(ref _tailSequence) < sequence)
        {
            var signal = Volatile.Read(ref _tailed).Task;
            if (Volatile.Read(ref _tailSequence) >= sequence) return;
            var left = deadline - Environment.TickCount64;
            if (left <= 0) return;
            try { await signal.WaitAsync(TimeSpan.FromMilliseconds(left), ct).ConfigureAwait(false); }
            catch (TimeoutException) { return; }
        }
    }

    /// <summary>
    /// Events in [from, to) on the filter, oldest first, at most max: a short-lived consumer fetching what is there
    /// now. A plain consumer with one filter_subject, not an ordered one: the ordered consumer sends filter_subjects,
    /// which nats-server 2.9 ignores.
    /// </summary>
    private async Task<List<LoggedEvent>> ScanAsync(long from, long to, string filter, int max, CancellationToken ct)
    {
        var list = new List<LoggedEvent>();
        if (max <= 0 || from >= to) return list;
        var name = "egw-read-" + Guid.NewGuid().ToString("N");
        try
        {
            var consumer = await _js.CreateOrUpdateConsumerAsync(_stream, new ConsumerConfig(name)
            {
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                OptStartSeq = (ulong)Math.Max(from, 1),
                FilterSubject = filter,
                AckPolicy = ConsumerConfigAckPolicy.None,
                MemStorage = true,
                InactiveThreshold = TimeSpan.FromMinutes(1), // removed by the server should the delete below not arrive
            }, ct).ConfigureAwait(false);
            try
            {
                await foreach (var m in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = max }, cancellationToken: ct).ConfigureAwait(false))
                {
                    var seq = (long)m.Metadata!.Value.Sequence.Stream;
                    if (seq >= to) break;
                    list.Add(JetStreamEnvelope.Decode(seq, m.Data ?? []));
                    if (list.Count >= max) break;
                }
            }
            finally
            {
                await _js.DeleteConsumerAsync(_stream, name, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            throw new EventLogUnavailableException($"event bus read failed: {e.Message}", e);
        }
        return list;
    }

    public async Task WaitForAsync(long afterSequence, CancellationToken ct = default)
    {
        while (Volatile.Read(ref _lastSequence) <= afterSequence)
        {
            var signal = Volatile.Read(ref _appended).Task;
            if (Volatile.Read(ref _lastSequence) > afterSequence) return;
            await signal.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public async Task<string?> GetSourceStateAsync(string key, CancellationToken ct = default)
    {
        try
        {
            var entry = await _state.GetEntryAsync<string>(JetStreamEnvelope.Token(key), cancellationToken: ct).ConfigureAwait(false);
            return entry.Value;
        }
        catch (NatsKVKeyNotFoundException)
        {
            return null;
        }
        catch (NatsKVKeyDeletedException)
        {
            return null;
        }
    }

    public async Task<LoggedEvent?> GetAsync(long sequence, CancellationToken ct = default)
    {
        if (sequence < 1) return null;
        var found = await ScanAsync(sequence, sequence + 1, _prefix + ".>", 1, ct).ConfigureAwait(false);
        return found.Count == 1 && found[0].Sequence == sequence ? found[0] : null;
    }

    /// <summary>
    /// Newest first: JetStream reads forward only, so this scans backwards in growing windows, each filtered by
    /// the server on the subject (namespace, source, subject), until the page is full or the stream's start is passed.
    /// </summary>
    public async Task<IReadOnlyList<LoggedEvent>> QueryAsync(EventQuery query, CancellationToken ct = default)
    {
        var limit = Math.Clamp(query.Limit, 1, 10_000);
        var info = await InfoAsync(ct).ConfigureAwait(false);
        var first = (long)info.FirstSeq;
        var to = Math.Min(query.BeforeSequence ?? long.MaxValue, (long)info.LastSeq + 1);
        var filter = JetStreamEnvelope.Filter(_prefix, query.Namespace, query.Source, query.Subject);
        var result = new List<LoggedEvent>();
        long window = 256;
        while (result.Count < limit && to > first && to > 1)
        {
            var from = Math.Max(first, to - window);
            var page = await ScanAsync(from, to, filter, (int)Math.Min(to - from, 100_000), ct).ConfigureAwait(false);
            for (var i = page.Count - 1; i >= 0 && result.Count < limit; i--) result.Add(page[i]);
            to = from;
            window = Math.Min(window * 4, 65_536);
        }
        return result;
    }

    public async Task<EventLogStats> StatsAsync(CancellationToken ct = default)
    {
        var s = await InfoAsync(ct).ConfigureAwait(false);
        DateTimeOffset? At(string? t) => s.Messages == 0 || t is null ? null : DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture);
        return new EventLogStats((long)s.Messages, s.Messages == 0 ? 0 : (long)s.FirstSeq, (long)s.LastSeq, At(s.FirstTs), At(s.LastTs),
            _options.RetentionMaxAge, _options.RetentionMaxEvents, Interlocked.Read(ref _pendingEvents));
    }

    private async Task<StreamState> InfoAsync(CancellationToken ct)
    {
        try
        {
            var s = await _js.GetStreamAsync(_stream, cancellationToken: ct).ConfigureAwait(false);
            return s.Info.State;
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            throw new EventLogUnavailableException($"event bus is unreachable: {e.Message}", e);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _tail.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _nats.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "event bus did not acknowledge an append of {Events} events; the sender was refused")]
    private static partial void LogWriteFailed(ILogger log, Exception e, int events);

    [LoggerMessage(Level = LogLevel.Warning, Message = "following the event stream failed; retrying")]
    private static partial void LogTailFailed(ILogger log, Exception e);
}

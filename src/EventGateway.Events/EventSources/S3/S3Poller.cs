using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Workflows.S3;

namespace EventGateway.Events.EventSources.S3;

/// <summary>
/// Bucket events by listing: every poll interval (on <see cref="ListenerContext.Time"/>) it lists the
/// bucket under <c>filter.prefix</c> and compares key, ETag and modification time with what it saw
/// before, reporting new and changed objects as <c>s3:ObjectCreated:Put</c> and vanished ones as
/// <c>s3:ObjectRemoved:Delete</c> when the events ask for them.
/// <list type="bullet">
/// <item>First start (no state, or a state of another server/bucket/prefix/suffix): the objects already
/// there are recorded as seen, without events, as MinIO's notifications only report what happens later.</item>
/// <item>What was seen moves in the same transaction as the events it produced, so a restart neither
/// replays nor skips an object, and objects added while stopped are announced once on the next poll.</item>
/// <item>Bound: at most <see cref="S3Delivery.PollMaxObjects"/> objects under the prefix; beyond that the poll
/// fails with a message saying so and changes nothing, until the prefix is narrowed or objects go.</item>
/// <item>A failed poll (server down, bad credentials, missing Secret, full log) marks the listener Failed
/// with the reason and is retried at the next interval; the next good poll makes it Listening again.</item>
/// </list>
/// </summary>
public sealed partial class S3Poller(S3EventSource spec, S3SourceType type, S3Delivery delivery, ListenerContext ctx)
{
    /// <summary>Events per commit: a large catch-up becomes several commits, each carrying the state up to it.</summary>
    private const int EventsPerCommit = 500;
    private const int PageSize = 1000;

    private readonly S3Selection _selection = new(spec);
    private readonly string _stateKey = ctx.StateKey("poll");
    private readonly string _region = S3Endpoint.RegionOf(spec);

    private sealed record Listed(string ETag, long? Size, DateTimeOffset Modified, string? Owner);

    public async Task RunAsync(CancellationToken ct)
    {
        using var clients = new S3Clients(spec, endpointRequired: type.EndpointRequired);
        var scope = $"{clients.ServiceUrl}|{_selection.Bucket}|{_selection.Prefix}|{_selection.Suffix}";
        var target = $"{type.Name}://{clients.ServiceUrl.Authority}/{_selection.Bucket}/{_selection.Prefix} (poll every {delivery.PollEvery})";
        S3PollState? state = null;
        var stale = true;
        var listening = false;
        string? failure = null;
        while (true)
        {
            try
            {
                if (stale)
                {
                    state = await LoadAsync(scope, ct).ConfigureAwait(false);
                    stale = false;
                }
                var client = await clients.GetAsync(ctx.Secrets, ctx.Namespace, ct).ConfigureAwait(false);
                var listing = await ListAsync(client, ct).ConfigureAwait(false);
                // The server answered: Listening before the new objects are published, so whoever sees them sees the state too.
                if (!listening)
                {
                    ctx.Status.Listening(target);
                    listening = true;
                    failure = null;
                }
                state = state is null ? await BaselineAsync(scope, listing, ct).ConfigureAwait(false) : await CompareAsync(state, listing, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                // The log holds the truth: a poll that failed half way rereads it before trying again.
                stale = true;
                var reason = $"poll of {target} failed: {Describe(e)}; retrying every {delivery.PollEvery}";
                if (reason != failure)
                {
                    ctx.Status.Failed(reason);
                    LogPollFailed(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, reason);
                    failure = reason;
                }
                listening = false;
            }
            await Task.Delay(delivery.PollInterval, ctx.Time, ct).ConfigureAwait(false);
        }
    }

    private async Task<S3PollState?> LoadAsync(string scope, CancellationToken ct)
    {
        var text = await ctx.Log.GetSourceStateAsync(_stateKey, ct).ConfigureAwait(false);
        try
        {
            var state = S3PollState.Parse(text);
            return state?.Scope == scope ? state : null;
        }
        catch (FormatException e)
        {
            LogStateUnreadable(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, e.Message);
            return null;
        }
    }

    private async Task<Dictionary<string, Listed>> ListAsync(IAmazonS3 client, CancellationToken ct)
    {
        var objects = new Dictionary<string, Listed>(StringComparer.Ordinal);
        var listed = 0;
        string? token = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _selection.Bucket,
                Prefix = _selection.Prefix.Length > 0 ? _selection.Prefix : null,
                ContinuationToken = token,
                FetchOwner = true,
                MaxKeys = PageSize,
            }, ct).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
            {
                if (++listed > delivery.PollMaxObjects)
                    throw new InvalidOperationException(
                        $"more than {delivery.PollMaxObjects} objects under {_selection.Bucket}/{_selection.Prefix}, the most a poll tracks "
                        + $"(annotation {S3Delivery.PollMaxObjectsAnnotation}); narrow filter.prefix or receive notifications ({S3Delivery.NotificationPortAnnotation})");
                if (!_selection.KeyMatches(o.Key)) continue;
                var modified = o.LastModified is { } m ? new DateTimeOffset(m.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(m, DateTimeKind.Utc) : m.ToUniversalTime(), TimeSpan.Zero) : ctx.Time.GetUtcNow();
                objects[o.Key] = new Listed((o.ETag ?? "").Trim('"'), o.Size, modified, o.Owner?.Id);
            }
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        return objects;
    }

    private async Task<S3PollState> BaselineAsync(string scope, Dictionary<string, Listed> listing, CancellationToken ct)
    {
        var state = new S3PollState(scope, listing.ToDictionary(o => o.Key, o => Seen(o.Value), StringComparer.Ordinal));
        await ctx.PublishManyAsync([], new SourceCheckpoint(_stateKey, state.Serialize()), ct).ConfigureAwait(false);
        LogBaseline(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, state.Objects.Count);
        return state;
    }

    private async Task<S3PollState> CompareAsync(S3PollState state, Dictionary<string, Listed> listing, CancellationToken ct)
    {
        var now = ctx.Time.GetUtcNow();
        var changes = new List<(string Key, S3SeenObject? Seen, S3ObjectChange? Event)>();
        foreach (var (key, o) in listing.OrderBy(o => o.Value.Modified).ThenBy(o => o.Key, StringComparer.Ordinal))
        {
            var seen = Seen(o);
            if (state.Objects.TryGetValue(key, out var before) && before == seen) continue;
            var change = _selection.Wants(S3EventNames.Put)
                ? new S3ObjectChange(S3EventNames.Put, key, o.Size, o.ETag, o.Modified, S3Records.Sequencer(o.Modified), o.Owner)
                : null;
            changes.Add((key, seen, change));
        }
        foreach (var (key, before) in state.Objects.Where(o => !listing.ContainsKey(o.Key)).OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            var change = _selection.Wants(S3EventNames.Delete)
                ? new S3ObjectChange(S3EventNames.Delete, key, null, before.ETag, now, S3Records.Sequencer(now), null)
                : null;
            changes.Add((key, null, change));
        }
        if (changes.Count == 0) return state;

        var published = 0;
        foreach (var chunk in changes.Chunk(EventsPerCommit))
        {
            foreach (var (key, seen, _) in chunk)
                if (seen is { } s) state.Objects[key] = s;
                else state.Objects.Remove(key);
            var events = chunk.Select(c => c.Event).OfType<S3ObjectChange>().Select(c => (
                Id: S3Records.EventId(_selection.Bucket, c.Key, c.ETag, c.Sequencer),
                Data: (ReadOnlyMemory<byte>)S3Records.Data(c, _selection.Bucket, type, _region, spec.Metadata),
                c.Time)).ToList();
            await ctx.PublishManyAsync(events, new SourceCheckpoint(_stateKey, state.Serialize()), ct).ConfigureAwait(false);
            published += events.Count;
        }
        LogChanges(ctx.Logger, ctx.Namespace, ctx.SourceName, ctx.EventName, changes.Count, published);
        return state;
    }

    private static S3SeenObject Seen(Listed o) => new(o.ETag, o.Modified.ToUnixTimeMilliseconds());

    private static string Describe(Exception e) => e switch
    {
        AmazonServiceException { StatusCode: var status, ErrorCode: { Length: > 0 } code } s => $"{(int)status} {code}: {s.Message}",
        _ when e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) => $"{e.Message} ({inner.Message})",
        _ => e.Message,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "event source {Namespace}/{Name} event {Event}: first poll recorded {Count} existing objects without events")]
    private static partial void LogBaseline(ILogger log, string @namespace, string name, string @event, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "event source {Namespace}/{Name} event {Event}: poll found {Changes} changes, published {Published} events")]
    private static partial void LogChanges(ILogger log, string @namespace, string name, string @event, int changes, int published);

    [LoggerMessage(Level = LogLevel.Warning, Message = "event source {Namespace}/{Name} event {Event}: {Reason}")]
    private static partial void LogPollFailed(ILogger log, string @namespace, string name, string @event, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "event source {Namespace}/{Name} event {Event}: {Reason}; starting over: existing objects are recorded without events")]
    private static partial void LogStateUnreadable(ILogger log, string @namespace, string name, string @event, string reason);
}

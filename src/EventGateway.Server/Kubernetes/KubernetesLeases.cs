using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// <c>--lease kubernetes</c>: <see cref="IOwnership"/> over <c>coordination.k8s.io/v1</c> Lease objects in one
/// namespace, one Lease per named lease (a Sensor, a polling listener, a workflow shard, a singleton) and one per live
/// replica (its membership, to share the shards out). KubernetesClient's LeaderElector is not used: it runs one
/// election per lock with a blocking loop and callbacks, while a replica here holds some dozens of leases, takes them
/// in one round and hands idle shards over; this class keeps ReplicaLeases' rounds and semantics and uses the API
/// server's optimistic concurrency (update with metadata.resourceVersion; 409 = someone else wrote first) instead of
/// PostgreSQL's conditional UPDATE.
/// <para>
/// Semantics as over PostgreSQL: every TTL/3 one LIST of this service's Leases, then renewals of what is held,
/// takeovers of what is free, hand-over of surplus idle shards; a hold ends locally at 4/5 TTL after the last renewal
/// that reached the API server (counted from before it was sent); <c>spec.leaseTransitions</c> is the epoch, raised on
/// every new hold (so the first is 1); a clean stop gives every Lease back (holder emptied).
/// </para>
/// <para>
/// Expiry is judged as client-go does, on the observer's own clock: a Lease held by another is free once this replica
/// has seen it unchanged (same resourceVersion) for its leaseDurationSeconds. renewTime is written for people
/// (kubectl) but not trusted, so clocks that disagree between nodes cannot hand a lease over early.
/// </para>
/// </summary>
public sealed partial class KubernetesLeases : BackgroundService, IOwnership
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "eventgateway";
    /// <summary>"replica" for membership Leases, "work" for the rest: membership is counted through a label selector.</summary>
    public const string RoleLabel = "eventgateway.io/lease-role";
    /// <summary>The IOwnership name (e.g. <c>workflows/shard-03</c>), which Lease object names cannot spell.</summary>
    public const string NameAnnotation = "eventgateway.io/lease-name";
    public const string ReplicaPrefix = "replica/";

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _margin;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<string, long, CancellationToken, Task<long>>? _recordFence;
    private readonly ConcurrentDictionary<string, LeaseHold> _claims = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Name, long Epoch)> _releases = new();
    private readonly Dictionary<string, (string ResourceVersion, long At)> _observed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _tick = new(1, 1);
    private readonly LeaseHold _membership;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastReached;
    private string? _lastError;

    /// <param name="recordFence">
    /// Records a gained hold (name, epoch) where fenced writes check it (the shared PostgreSQL store's egw_leases) and
    /// returns the epoch recorded there: a higher one refuses the hold. Null: nothing to fence.
    /// </param>
    public KubernetesLeases(IKubernetes client, string @namespace, string replicaId, TimeSpan ttl, TimeProvider time, ILogger<KubernetesLeases> log,
        Func<string, long, CancellationToken, Task<long>>? recordFence = null)
    {
        if (ttl < TimeSpan.FromSeconds(1)) throw new ArgumentException($"--lease-ttl must be at least 1s, got {ttl}");
        (_client, _namespace, ReplicaId, _ttl, _time, _log, _recordFence) = (client, @namespace, replicaId, ttl, time, log, recordFence);
        _margin = ttl / 5; // as ReplicaLeases: one renewal may fail, and the work has a fifth of the TTL to stop
        _membership = new LeaseHold(ReplicaPrefix + replicaId, () => { }, null, Released);
    }

    public string ReplicaId { get; }

    public string Namespace => _namespace;

    public bool Shared => true;

    public bool Reachable => Interlocked.Read(ref _lastReached) is var at && at != 0 && _time.GetElapsedTime(at) < _ttl - _margin;

    public string? Unavailable => Reachable ? null
        : Interlocked.Read(ref _lastReached) == 0 ? "this replica has not reached the Kubernetes API server's Leases yet"
        : $"this replica has not reached the Kubernetes API server's Leases for {(int)_time.GetElapsedTime(Interlocked.Read(ref _lastReached)).TotalSeconds}s: {_lastError ?? "no answer"}";

    public ILeaseClaim Claim(string name, Action changed, Func<bool>? idle = null)
    {
        var claim = new LeaseHold(name, changed, idle, Released);
        if (!_claims.TryAdd(name, claim)) throw new InvalidOperationException($"lease {name} is claimed twice in this replica");
        Wake();
        return claim;
    }

    /// <summary>
    /// The Lease object's name for a lease: a readable slug of it (DNS subdomain characters only) and a hash of the
    /// exact name, so two names that slug alike (<c>a/b</c>, <c>a.b</c>) never share a Lease.
    /// </summary>
    public static string ObjectName(string lease)
    {
        var slug = new StringBuilder();
        foreach (var ch in lease.ToLowerInvariant())
            if (char.IsAsciiLetterOrDigit(ch)) slug.Append(ch);
            else if (slug.Length > 0 && slug[^1] != '-') slug.Append('-');
        var text = slug.ToString().Trim('-');
        if (text.Length > 40) text = text[..40].TrimEnd('-');
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lease)))[..10];
        return $"egw-{text}-{hash}";
    }

    private void Wake() => _wake.TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake);
            await TickAsync(stoppingToken).ConfigureAwait(false);
            var delay = _membership.Held ? _ttl / 3 : TimeSpan.FromSeconds(1);
            try { await Task.WhenAny(Task.Delay(delay, _time, stoppingToken), wake.Task).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            if (wake.Task.IsCompleted) Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try { await base.StopAsync(cancellationToken).ConfigureAwait(false); }
        finally { await ReleaseAllAsync().ConfigureAwait(false); }
    }

    /// <summary>One round (public for tests, which drive it with a fake clock); the loop runs it every TTL/3 and on claims.</summary>
    public async Task TickAsync(CancellationToken ct = default)
    {
        await _tick.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var sent = _time.GetTimestamp();
            try
            {
                await RoundAsync(sent, ct).ConfigureAwait(false);
                Interlocked.Exchange(ref _lastReached, sent);
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or TimeoutException or KubernetesException
                                          || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                _lastError = Describe(e);
                LogUnreachable(_log, _lastError);
            }
            foreach (var claim in _claims.Values.Append(_membership))
                if (claim.Held && claim.ValidUntil is { } until && _time.GetTimestamp() > until)
                {
                    LogExpired(_log, claim.Name);
                    claim.Lose();
                }
        }
        finally
        {
            _tick.Release();
        }
    }

    private async Task RoundAsync(long sent, CancellationToken ct)
    {
        var deadline = sent + (long)((_ttl - _margin).TotalSeconds * _time.TimestampFrequency);
        while (_releases.TryPeek(out var r))
        {
            await ReleaseAsync(r.Name, r.Epoch, ct).ConfigureAwait(false);
            _releases.TryDequeue(out _);
        }

        var leases = await ListAsync(ct).ConfigureAwait(false);

        foreach (var c in _claims.Values.Append(_membership).Where(c => c.Held).ToList())
        {
            if (await RenewAsync(c, leases, ct).ConfigureAwait(false)) c.ValidUntil = deadline;
            else
            {
                LogLost(_log, c.Name);
                c.Lose();
            }
        }

        if (!_membership.Held && await TryAcquireAsync(_membership.Name, leases, ct).ConfigureAwait(false) is { } me)
        {
            _membership.Gain(me, deadline);
            LogJoined(_log, ReplicaId, _namespace);
        }
        if (!_membership.Held) return;
        var live = Math.Max(1, await LiveReplicasAsync(leases, ct).ConfigureAwait(false));

        var grouped = _claims.Values.Where(c => c.Idle is not null).ToList();
        var share = (grouped.Count + live - 1) / live;
        var heldInGroup = grouped.Count(c => c.Held);
        foreach (var c in _claims.Values.Where(c => !c.Held && !c.Disposed).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            if (c.Idle is not null && heldInGroup >= share) continue;
            if (await TryAcquireAsync(c.Name, leases, ct).ConfigureAwait(false) is not { } epoch) continue;
            if (c.Disposed)
            {
                await ReleaseAsync(c.Name, epoch, ct).ConfigureAwait(false);
                continue;
            }
            if (c.Idle is not null) heldInGroup++;
            LogGained(_log, c.Name, epoch);
            c.Gain(epoch, deadline);
        }
        foreach (var c in grouped.Where(c => c.Held).OrderByDescending(c => c.Name, StringComparer.Ordinal))
        {
            if (heldInGroup <= share) break;
            if (!c.Idle!()) continue;
            var epoch = c.Epoch;
            c.Lose();
            await ReleaseAsync(c.Name, epoch, ct).ConfigureAwait(false);
            heldInGroup--;
            LogHandedOver(_log, c.Name);
        }
    }

    /// <summary>This service's Leases by object name, each observation timed on this replica's clock.</summary>
    private async Task<Dictionary<string, V1Lease>> ListAsync(CancellationToken ct)
    {
        var list = await _client.CoordinationV1.ListNamespacedLeaseAsync(_namespace, labelSelector: $"{ManagedByLabel}={ManagedBy}", cancellationToken: ct).ConfigureAwait(false);
        var now = _time.GetTimestamp();
        var leases = list.Items.ToDictionary(l => l.Metadata.Name, StringComparer.Ordinal);
        foreach (var (name, lease) in leases) Observe(name, lease, now);
        foreach (var gone in _observed.Keys.Where(k => !leases.ContainsKey(k)).ToList()) _observed.Remove(gone);
        return leases;
    }

    private void Observe(string name, V1Lease lease, long now)
    {
        if (!_observed.TryGetValue(name, out var seen) || seen.ResourceVersion != lease.Metadata.ResourceVersion)
            _observed[name] = (lease.Metadata.ResourceVersion, now);
    }

    /// <summary>Free to take: nobody holds it, or its holder has not renewed it for its whole duration as seen from here.</summary>
    private bool Expired(string name, V1Lease lease)
    {
        if (string.IsNullOrEmpty(lease.Spec?.HolderIdentity)) return true;
        if (!_observed.TryGetValue(name, out var seen)) return false;
        return _time.GetElapsedTime(seen.At) > TimeSpan.FromSeconds(lease.Spec.LeaseDurationSeconds ?? (int)_ttl.TotalSeconds);
    }

    private bool Ours(V1Lease lease, long epoch) => lease.Spec?.HolderIdentity == ReplicaId && (lease.Spec.LeaseTransitions ?? 0) == epoch;

    private V1Lease Hold(string lease, string objectName, long epoch, V1Lease? current)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var obj = current ?? new V1Lease
        {
            Metadata = new V1ObjectMeta
            {
                Name = objectName,
                NamespaceProperty = _namespace,
                Labels = new Dictionary<string, string> { [ManagedByLabel] = ManagedBy, [RoleLabel] = lease.StartsWith(ReplicaPrefix, StringComparison.Ordinal) ? "replica" : "work" },
                Annotations = new Dictionary<string, string> { [NameAnnotation] = lease },
            },
            Spec = new V1LeaseSpec(),
        };
        obj.Spec ??= new V1LeaseSpec();
        if (obj.Spec.HolderIdentity != ReplicaId || obj.Spec.LeaseTransitions != epoch) obj.Spec.AcquireTime = now;
        obj.Spec.HolderIdentity = ReplicaId;
        obj.Spec.LeaseTransitions = (int)epoch;
        obj.Spec.LeaseDurationSeconds = (int)Math.Ceiling(_ttl.TotalSeconds);
        obj.Spec.RenewTime = now;
        return obj;
    }

    /// <summary>Extends a hold; false when the Lease is no longer this hold (taken over, deleted, or changed under us twice).</summary>
    private async Task<bool> RenewAsync(LeaseHold c, Dictionary<string, V1Lease> leases, CancellationToken ct)
    {
        var name = ObjectName(c.Name);
        if (!leases.TryGetValue(name, out var current)) return false;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (!Ours(current, c.Epoch)) return false;
            try
            {
                leases[name] = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(Hold(c.Name, name, c.Epoch, current), name, _namespace, cancellationToken: ct).ConfigureAwait(false);
                Observe(name, leases[name], _time.GetTimestamp());
                return true;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Written by someone else since our LIST (a takeover, or only a label added with kubectl): read it again.
                LogConflict(_log, c.Name);
                try { current = await _client.CoordinationV1.ReadNamespacedLeaseAsync(name, _namespace, cancellationToken: ct).ConfigureAwait(false); }
                catch (HttpOperationException g) when (g.Response.StatusCode == HttpStatusCode.NotFound) { return false; }
                Observe(name, current, _time.GetTimestamp());
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>Takes the lease if it is free (absent, released, expired as seen from here, or ours from before); returns the new epoch.</summary>
    private async Task<long?> TryAcquireAsync(string lease, Dictionary<string, V1Lease> leases, CancellationToken ct)
    {
        var name = ObjectName(lease);
        long epoch;
        try
        {
            if (!leases.TryGetValue(name, out var current))
            {
                epoch = 1;
                leases[name] = await _client.CoordinationV1.CreateNamespacedLeaseAsync(Hold(lease, name, epoch, null), _namespace, cancellationToken: ct).ConfigureAwait(false);
            }
            else
            {
                if (current.Spec?.HolderIdentity != ReplicaId && !Expired(name, current)) return null;
                epoch = (current.Spec?.LeaseTransitions ?? 0) + 1L;
                leases[name] = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(Hold(lease, name, epoch, current), name, _namespace, cancellationToken: ct).ConfigureAwait(false);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            // Another replica created or took it first (or it was deleted meanwhile): not ours this round.
            LogConflict(_log, lease);
            return null;
        }
        Observe(name, leases[name], _time.GetTimestamp());
        if (_recordFence is not null && !lease.StartsWith(ReplicaPrefix, StringComparison.Ordinal)
            && await _recordFence(lease, epoch, ct).ConfigureAwait(false) is var recorded && recorded != epoch)
        {
            // A newer hold is recorded (e.g. from --lease postgres before): give the Lease back with its epoch raised to
            // the recorded one, so the next hold, by anyone, is recorded above it.
            LogFenceRefused(_log, lease, epoch, recorded);
            await ReleaseAsync(lease, epoch, ct, raiseTo: recorded).ConfigureAwait(false);
            return null;
        }
        return epoch;
    }

    /// <summary>Gives a hold back: holder emptied, so any replica may take it at once rather than after the TTL.</summary>
    private async Task ReleaseAsync(string lease, long epoch, CancellationToken ct, long? raiseTo = null)
    {
        var name = ObjectName(lease);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            V1Lease current;
            try { current = await _client.CoordinationV1.ReadNamespacedLeaseAsync(name, _namespace, cancellationToken: ct).ConfigureAwait(false); }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return; }
            if (!Ours(current, epoch)) return;
            current.Spec.HolderIdentity = null;
            if (raiseTo > epoch) current.Spec.LeaseTransitions = (int)raiseTo.Value;
            current.Spec.LeaseDurationSeconds = 1;
            current.Spec.RenewTime = _time.GetUtcNow().UtcDateTime;
            try
            {
                await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(current, name, _namespace, cancellationToken: ct).ConfigureAwait(false);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound) { }
        }
    }

    /// <summary>
    /// Replicas whose membership Lease is live as seen from here (this one included). A membership Lease left by a
    /// replica that died is deleted once expired (with its resourceVersion as precondition), so they do not pile up.
    /// </summary>
    private async Task<int> LiveReplicasAsync(Dictionary<string, V1Lease> leases, CancellationToken ct)
    {
        var live = 0;
        foreach (var (name, lease) in leases.Where(l => l.Value.Metadata.Labels is { } labels && labels.TryGetValue(RoleLabel, out var role) && role == "replica").ToList())
        {
            if (lease.Spec?.HolderIdentity == ReplicaId || !Expired(name, lease))
            {
                live++;
                continue;
            }
            try
            {
                await _client.CoordinationV1.DeleteNamespacedLeaseAsync(name, _namespace,
                    new V1DeleteOptions { Preconditions = new V1Preconditions { ResourceVersion = lease.Metadata.ResourceVersion } }, cancellationToken: ct).ConfigureAwait(false);
                leases.Remove(name);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound) { }
        }
        return live;
    }

    private async Task ReleaseAllAsync()
    {
        var held = _claims.Values.Append(_membership).Where(c => c.Held).Select(c => (c.Name, c.Epoch)).ToList();
        foreach (var c in _claims.Values) c.Lose();
        _membership.Lose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            foreach (var (name, epoch) in held.Concat(_releases)) await ReleaseAsync(name, epoch, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException or OperationCanceledException or TimeoutException)
        {
            LogUnreachable(_log, Describe(e));
        }
    }

    private static string Describe(Exception e) => e is HttpOperationException h ? $"{(int)h.Response.StatusCode} {h.Response.Content}" : e.Message;

    /// <summary>A claim given up: the table forgets it and, if it was held, the lease goes back at the next round.</summary>
    private void Released(LeaseHold claim, bool held, long epoch)
    {
        _claims.TryRemove(new KeyValuePair<string, LeaseHold>(claim.Name, claim));
        if (held) _releases.Enqueue((claim.Name, epoch));
        Wake();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Replica} joined (Leases in namespace {Namespace})")]
    private static partial void LogJoined(ILogger log, string replica, string @namespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Name} taken (epoch {Epoch})")]
    private static partial void LogGained(ILogger log, string name, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} lost: another replica holds it now")]
    private static partial void LogLost(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Debug, Message = "lease {Name}: 409 Conflict, the Lease changed since it was read")]
    private static partial void LogConflict(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} given up: not renewed in time (the API server did not answer)")]
    private static partial void LogExpired(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Name} handed over (idle, beyond this replica's share)")]
    private static partial void LogHandedOver(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} at epoch {Epoch} given back: the shared store records a newer hold of it (epoch {Recorded}; leases moved from --lease postgres?); the next hold is taken above it")]
    private static partial void LogFenceRefused(ILogger log, string name, long epoch, long recorded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "leases: the Kubernetes API server did not answer: {Reason}")]
    private static partial void LogUnreachable(ILogger log, string reason);
}

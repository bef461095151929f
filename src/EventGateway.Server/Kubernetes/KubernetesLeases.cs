using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Server.Kubernetes;

/// <summary>
/// <c>--lease kubernetes</c>: <see cref="IOwnership"/> over <c>coordination.k8s.io/v1</c> Lease objects in one
/// namespace, one Lease per named lease (a Sensor, a polling listener, a workflow shard, a singleton) and one per live
/// replica (its membership, to share the shards out). KubernetesClient's LeaderElector is not used: it runs one
/// election per lock with a blocking loop and callbacks, while a replica here holds some dozens of leases, takes them
/// in one round and hands idle shards over. The rounds are <see cref="LeaseRounds"/>', as over PostgreSQL; this class
/// keeps the Leases with the API server's optimistic concurrency (update with metadata.resourceVersion; 409 = someone
/// else wrote first) instead of PostgreSQL's conditional UPDATE.
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
public sealed partial class KubernetesLeases : LeaseRounds
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
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<string, long, CancellationToken, Task<long>>? _recordFence;
    private readonly Dictionary<string, (string ResourceVersion, long At)> _observed = new(StringComparer.Ordinal);
    /// <summary>This round's LIST, by object name, kept up to date by the round's own writes.</summary>
    private Dictionary<string, V1Lease> _leases = new(StringComparer.Ordinal);

    /// <param name="recordFence">
    /// Records a gained hold (name, epoch) where fenced writes check it (the shared PostgreSQL store's egw_leases) and
    /// returns the epoch recorded there: a higher one refuses the hold. Null: nothing to fence.
    /// </param>
    public KubernetesLeases(IKubernetes client, string @namespace, string replicaId, TimeSpan ttl, TimeProvider time, ILogger<KubernetesLeases> log,
        Func<string, long, CancellationToken, Task<long>>? recordFence = null)
        : base(replicaId, ReplicaPrefix + replicaId, ttl, time, log, "the Kubernetes API server's Leases") =>
        (_client, _namespace, _time, _log, _recordFence) = (client, @namespace, time, log, recordFence);

    public string Namespace => _namespace;

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

    protected override void Joined() => LogJoinedIn(_log, ReplicaId, _namespace);

    protected override async Task BeginRoundAsync(CancellationToken ct) => _leases = await ListAsync(ct).ConfigureAwait(false);

    protected override async Task<IReadOnlySet<string>> RenewAsync(IReadOnlyList<(string Name, long Epoch)> held, CancellationToken ct)
    {
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, epoch) in held)
            if (await RenewAsync(name, epoch, ct).ConfigureAwait(false)) kept.Add(name);
        return kept;
    }

    protected override bool DidNotAnswer(Exception e, CancellationToken ct) =>
        e is HttpOperationException or HttpRequestException or IOException or TimeoutException or KubernetesException
        || (e is OperationCanceledException && !ct.IsCancellationRequested);

    protected override string Describe(Exception e) => e is HttpOperationException h ? $"{(int)h.Response.StatusCode} {h.Response.Content}" : e.Message;

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
        return _time.GetElapsedTime(seen.At) > TimeSpan.FromSeconds(lease.Spec.LeaseDurationSeconds ?? (int)Ttl.TotalSeconds);
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
        obj.Spec.LeaseDurationSeconds = (int)Math.Ceiling(Ttl.TotalSeconds);
        obj.Spec.RenewTime = now;
        return obj;
    }

    /// <summary>Extends a hold; false when the Lease is no longer this hold (taken over, deleted, or changed under us twice).</summary>
    private async Task<bool> RenewAsync(string lease, long epoch, CancellationToken ct)
    {
        var leases = _leases;
        var name = ObjectName(lease);
        if (!leases.TryGetValue(name, out var current)) return false;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (!Ours(current, epoch)) return false;
            try
            {
                leases[name] = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(Hold(lease, name, epoch, current), name, _namespace, cancellationToken: ct).ConfigureAwait(false);
                Observe(name, leases[name], _time.GetTimestamp());
                return true;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Written by someone else since our LIST (a takeover, or only a label added with kubectl): read it again.
                LogConflict(_log, lease);
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
    protected override async Task<long?> TryAcquireAsync(string lease, CancellationToken ct)
    {
        var leases = _leases;
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
    protected override Task ReleaseAsync(string lease, long epoch, CancellationToken ct) => ReleaseAsync(lease, epoch, ct, raiseTo: null);

    private async Task ReleaseAsync(string lease, long epoch, CancellationToken ct, long? raiseTo)
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
    protected override async Task<int> LiveReplicasAsync(CancellationToken ct)
    {
        var leases = _leases;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Replica} joined (Leases in namespace {Namespace})")]
    private static partial void LogJoinedIn(ILogger log, string replica, string @namespace);

    [LoggerMessage(Level = LogLevel.Debug, Message = "lease {Name}: 409 Conflict, the Lease changed since it was read")]
    private static partial void LogConflict(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} at epoch {Epoch} given back: the shared store records a newer hold of it (epoch {Recorded}; leases moved from --lease postgres?); the next hold is taken above it")]
    private static partial void LogFenceRefused(ILogger log, string name, long epoch, long recorded);
}

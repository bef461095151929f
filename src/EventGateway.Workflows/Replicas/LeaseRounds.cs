using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventGateway.Workflows.Replicas;

/// <summary>
/// <see cref="IOwnership"/> over a lease table the replicas share (PostgreSQL's egw_leases, Kubernetes' Lease
/// objects): the rounds and their semantics, whatever keeps the table. Every TTL/3, and whenever a lease is claimed or
/// given back, one round gives back what was released, renews what is held, registers this replica, takes what it
/// wants and is free, and hands idle shards beyond its share over to replicas that have fewer. A hold is given up
/// locally at TTL minus a margin after the last round that reached the table, counted on this replica's clock from
/// before that round started, so the work under it has stopped before the table can let another replica take it.
/// A clean stop gives every lease back, so the others take over at once instead of after the TTL.
/// </summary>
public abstract partial class LeaseRounds : BackgroundService, IOwnership
{
    private readonly TimeSpan _margin;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, LeaseHold> _claims = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Name, long Epoch)> _releases = new();
    private readonly SemaphoreSlim _tick = new(1, 1);
    private readonly LeaseHold _membership;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastReached;
    private string? _lastError;

    /// <param name="membership">the name of this replica's own lease, by which the others count it live.</param>
    /// <param name="table">what keeps the leases, for people: "the shared database".</param>
    protected LeaseRounds(string replicaId, string membership, TimeSpan ttl, TimeProvider time, ILogger log, string table)
    {
        if (ttl < TimeSpan.FromSeconds(1)) throw new ArgumentException($"--lease-ttl must be at least 1s, got {ttl}");
        (ReplicaId, Ttl, _time, _log, Table) = (replicaId, ttl, time, log, table);
        // Renewals every TTL/3 with the hold ending at 4/5 TTL: one renewal may fail and the next still lands in time,
        // and the work has a fifth of the TTL (3 s of 15) to stop before the table lets another replica take over.
        _margin = ttl / 5;
        _membership = new LeaseHold(membership, () => { }, null, Released);
    }

    public string ReplicaId { get; }

    public bool Shared => true;

    public TimeSpan Ttl { get; }

    /// <summary>What keeps the leases, as messages name it.</summary>
    protected string Table { get; }

    /// <summary>False once no round has reached the table for longer than the TTL minus its margin: refuse work then (503).</summary>
    public bool Reachable => Interlocked.Read(ref _lastReached) is var at && at != 0 && _time.GetElapsedTime(at) < Ttl - _margin;

    public string? Unavailable => Reachable ? null
        : Interlocked.Read(ref _lastReached) == 0 ? $"this replica has not reached {Table} yet"
        : $"this replica has not reached {Table} for {(int)_time.GetElapsedTime(Interlocked.Read(ref _lastReached)).TotalSeconds}s: {_lastError ?? "no answer"}";

    public ILeaseClaim Claim(string name, Action changed, Func<bool>? idle = null)
    {
        var claim = new LeaseHold(name, changed, idle, Released);
        if (!_claims.TryAdd(name, claim)) throw new InvalidOperationException($"lease {name} is claimed twice in this replica");
        Wake();
        return claim;
    }

    // ---- what the table does; a round calls these one at a time ----

    /// <summary>Reads what the round needs up front (Kubernetes: one LIST of the Leases); nothing by default.</summary>
    protected virtual Task BeginRoundAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Extends the holds; returns the names still held (a hold not returned was taken over after its expiry).</summary>
    protected abstract Task<IReadOnlySet<string>> RenewAsync(IReadOnlyList<(string Name, long Epoch)> held, CancellationToken ct);

    /// <summary>Takes the lease if it is free; returns the new hold's epoch, or null when another replica holds it.</summary>
    protected abstract Task<long?> TryAcquireAsync(string name, CancellationToken ct);

    /// <summary>Gives a hold back (nothing when it is no longer this hold), so any replica may take it at once.</summary>
    protected abstract Task ReleaseAsync(string name, long epoch, CancellationToken ct);

    /// <summary>How many replicas hold their membership lease (this one included).</summary>
    protected abstract Task<int> LiveReplicasAsync(CancellationToken ct);

    /// <summary>Whether <paramref name="e"/> says the table did not answer (the round failed; the holds run out on their own).</summary>
    protected abstract bool DidNotAnswer(Exception e, CancellationToken ct);

    /// <summary>What a failure says, for the log and <see cref="Unavailable"/>.</summary>
    protected virtual string Describe(Exception e) => e.Message;

    /// <summary>Logged when this replica registers (names where, e.g. the Leases' namespace).</summary>
    protected virtual void Joined() => LogJoined(_log, ReplicaId, Table);

    private void Wake() => _wake.TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake);
            await TickAsync(stoppingToken).ConfigureAwait(false);
            var delay = _membership.Held ? Ttl / 3 : TimeSpan.FromSeconds(1); // not registered yet: try again soon
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

    /// <summary>One round. Public for tests, which drive it directly with a fake clock.</summary>
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
            catch (Exception e) when (DidNotAnswer(e, ct))
            {
                _lastError = Describe(e);
                LogUnreachable(_log, Table, _lastError);
            }
            // Whatever the table said, a hold past its local deadline ends now.
            foreach (var claim in _claims.Values.Append(_membership))
                if (claim.Held && claim.ValidUntil is { } until && _time.GetTimestamp() > until)
                {
                    LogExpired(_log, claim.Name, Table);
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
        var deadline = sent + (long)((Ttl - _margin).TotalSeconds * _time.TimestampFrequency);
        // Given back only once the table has it: a round that fails here tries again next time.
        while (_releases.TryPeek(out var r))
        {
            await ReleaseAsync(r.Name, r.Epoch, ct).ConfigureAwait(false);
            _releases.TryDequeue(out _);
        }
        await BeginRoundAsync(ct).ConfigureAwait(false);

        var held = _claims.Values.Append(_membership).Where(c => c.Held).ToList();
        var kept = held.Count == 0 ? new HashSet<string>() : await RenewAsync([.. held.Select(c => (c.Name, c.Epoch))], ct).ConfigureAwait(false);
        foreach (var c in held)
            if (kept.Contains(c.Name)) c.ValidUntil = deadline;
            else
            {
                LogLost(_log, c.Name);
                c.Lose();
            }

        if (!_membership.Held && await TryAcquireAsync(_membership.Name, ct).ConfigureAwait(false) is { } me)
        {
            _membership.Gain(me, deadline);
            Joined();
        }
        if (!_membership.Held) return; // unknown to the others: take nothing they could not see
        var live = Math.Max(1, await LiveReplicasAsync(ct).ConfigureAwait(false));

        var grouped = _claims.Values.Where(c => c.Idle is not null).ToList();
        var share = (grouped.Count + live - 1) / live;
        var heldInGroup = grouped.Count(c => c.Held);
        foreach (var c in _claims.Values.Where(c => !c.Held && !c.Disposed).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            if (c.Idle is not null && heldInGroup >= share) continue;
            if (await TryAcquireAsync(c.Name, ct).ConfigureAwait(false) is not { } epoch) continue;
            if (c.Disposed)
            {
                await ReleaseAsync(c.Name, epoch, ct).ConfigureAwait(false);
                continue;
            }
            if (c.Idle is not null) heldInGroup++;
            LogGained(_log, c.Name, epoch);
            c.Gain(epoch, deadline);
        }
        // Hand over idle shards beyond our share to replicas that have fewer (one that joined after us).
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
        catch (Exception e) when (e is OperationCanceledException || DidNotAnswer(e, CancellationToken.None))
        {
            LogUnreachable(_log, Table, Describe(e));
        }
    }

    /// <summary>A claim given up: forgotten here and, if it was held, given back at the next round.</summary>
    private void Released(LeaseHold claim, bool held, long epoch)
    {
        _claims.TryRemove(new KeyValuePair<string, LeaseHold>(claim.Name, claim));
        if (held) _releases.Enqueue((claim.Name, epoch));
        Wake();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Replica} joined ({Table})")]
    protected static partial void LogJoined(ILogger log, string replica, string table);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Name} taken (epoch {Epoch})")]
    private static partial void LogGained(ILogger log, string name, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} lost: another replica holds it now")]
    private static partial void LogLost(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} given up: not renewed in time ({Table} did not answer)")]
    private static partial void LogExpired(ILogger log, string name, string table);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Name} handed over (idle, beyond this replica's share)")]
    private static partial void LogHandedOver(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "leases: {Table} did not answer: {Reason}")]
    private static partial void LogUnreachable(ILogger log, string table, string reason);
}

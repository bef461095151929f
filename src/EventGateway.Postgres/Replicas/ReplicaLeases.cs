using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// This replica's membership and leases in PostgreSQL (<see cref="IOwnership"/> with a shared store). Every TTL/3 it
/// renews what it holds, takes what it wants and is free, and hands over surplus idle shards; expiry is the
/// database's clock. A hold is given up locally at TTL minus a margin after the last renewal that reached the
/// database, counted on this replica's own clock from before that statement was sent, so the work under it has
/// stopped before the lease can expire in the database and be taken by another replica.
/// </summary>
public sealed partial class ReplicaLeases : BackgroundService, IOwnership
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromSeconds(15);

    private readonly LeaseTable _table;
    private readonly TimeSpan _ttl;
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

    public ReplicaLeases(NpgsqlDataSource db, string replicaId, TimeSpan ttl, TimeProvider time, ILogger<ReplicaLeases> log)
    {
        if (ttl < TimeSpan.FromSeconds(1)) throw new ArgumentException($"--lease-ttl must be at least 1s, got {ttl}");
        (_table, ReplicaId, _ttl, _time, _log) = (new LeaseTable(db), replicaId, ttl, time, log);
        // Renewals every TTL/3 with the hold ending at 4/5 TTL: one renewal may fail and the next still lands in time,
        // and the work has a fifth of the TTL (3 s of 15) to stop before the database lets another replica take over.
        _margin = ttl / 5;
        _membership = new LeaseHold(LeaseTable.ReplicaPrefix + replicaId, () => { }, null, Released);
    }

    /// <summary>hostname-pid-random: unique across restarts, so a restarted process never passes for the one that died.</summary>
    public static string NewReplicaId() =>
        $"{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    public string ReplicaId { get; }

    public bool Shared => true;

    public TimeSpan Ttl => _ttl;

    /// <summary>False once no renewal has reached the database for longer than the TTL minus its margin: refuse work then (503).</summary>
    public bool Reachable => Interlocked.Read(ref _lastReached) is var at && at != 0 && _time.GetElapsedTime(at) < _ttl - _margin;

    public string? Unavailable => Reachable ? null
        : Interlocked.Read(ref _lastReached) == 0 ? "this replica has not reached the shared database yet"
        : $"this replica has not reached the shared database for {(int)_time.GetElapsedTime(Interlocked.Read(ref _lastReached)).TotalSeconds}s: {_lastError ?? "no answer"}";

    public ILeaseClaim Claim(string name, Action changed, Func<bool>? idle = null)
    {
        var claim = new LeaseHold(name, changed, idle, Released);
        if (!_claims.TryAdd(name, claim)) throw new InvalidOperationException($"lease {name} is claimed twice in this replica");
        Wake();
        return claim;
    }

    /// <summary>Every lease in the database as it stands.</summary>
    public Task<IReadOnlyList<LeaseRow>> ListAsync(CancellationToken ct = default) => _table.ListAsync(ct);

    private void Wake() => _wake.TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake);
            await TickAsync(stoppingToken).ConfigureAwait(false);
            var delay = _ttl / 3;
            if (!_membership.Held) delay = TimeSpan.FromSeconds(1); // not registered yet: try again soon
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

    /// <summary>
    /// One round: renew, give back, take, hand over. Public for tests, which drive it directly; the loop calls it every
    /// TTL/3 and whenever a lease is claimed or given back.
    /// </summary>
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
            catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException && !ct.IsCancellationRequested)
            {
                _lastError = e.Message;
                LogUnreachable(_log, e.Message);
            }
            // Whatever the database said, a hold past its local deadline ends now.
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
        while (_releases.TryDequeue(out var r)) await _table.ReleaseAsync(r.Name, ReplicaId, r.Epoch, ct).ConfigureAwait(false);

        // Renew everything held in one statement; what did not come back was lost (taken over after our expiry).
        var held = _claims.Values.Append(_membership).Where(c => c.Held).ToList();
        var kept = await _table.RenewAsync([.. held.Select(c => (c.Name, c.Epoch))], ReplicaId, _ttl, ct).ConfigureAwait(false);
        foreach (var c in held)
            if (kept.Contains(c.Name)) c.ValidUntil = deadline;
            else
            {
                LogLost(_log, c.Name);
                c.Lose();
            }

        if (!_membership.Held && await _table.TryAcquireAsync(_membership.Name, ReplicaId, _ttl, ct).ConfigureAwait(false) is { } me)
        {
            _membership.Gain(me, deadline);
            LogJoined(_log, ReplicaId);
        }
        if (!_membership.Held) return; // unknown to the others: take nothing they could not see
        var live = Math.Max(1, await _table.LiveReplicasAsync(ct).ConfigureAwait(false));

        var grouped = _claims.Values.Where(c => c.Idle is not null).ToList();
        var share = (grouped.Count + live - 1) / live;
        var heldInGroup = grouped.Count(c => c.Held);
        foreach (var c in _claims.Values.Where(c => !c.Held && !c.Disposed).OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            if (c.Idle is not null && heldInGroup >= share) continue;
            if (await _table.TryAcquireAsync(c.Name, ReplicaId, _ttl, ct).ConfigureAwait(false) is not { } epoch) continue;
            if (c.Disposed)
            {
                await _table.ReleaseAsync(c.Name, ReplicaId, epoch, ct).ConfigureAwait(false);
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
            await _table.ReleaseAsync(c.Name, ReplicaId, epoch, ct).ConfigureAwait(false);
            heldInGroup--;
            LogHandedOver(_log, c.Name);
        }
    }

    private async Task ReleaseAllAsync()
    {
        // A clean stop gives every lease back, so the others take over at once instead of after the TTL.
        var held = _claims.Values.Append(_membership).Where(c => c.Held).Select(c => (c.Name, c.Epoch)).ToList();
        foreach (var c in _claims.Values) c.Lose();
        _membership.Lose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            foreach (var (name, epoch) in held.Concat(_releases)) await _table.ReleaseAsync(name, ReplicaId, epoch, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            LogUnreachable(_log, e.Message);
        }
    }

    /// <summary>A claim given up: the table forgets it and, if it was held, the lease goes back at the next round.</summary>
    private void Released(LeaseHold claim, bool held, long epoch)
    {
        _claims.TryRemove(new KeyValuePair<string, LeaseHold>(claim.Name, claim));
        if (held) _releases.Enqueue((claim.Name, epoch));
        Wake();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Replica} joined")]
    private static partial void LogJoined(ILogger log, string replica);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Name} taken (epoch {Epoch})")]
    private static partial void LogGained(ILogger log, string name, long epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} lost: another replica holds it now")]
    private static partial void LogLost(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Name} given up: not renewed in time (the database did not answer)")]
    private static partial void LogExpired(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Name} handed over (idle, beyond this replica's share)")]
    private static partial void LogHandedOver(ILogger log, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "leases: the database did not answer: {Reason}")]
    private static partial void LogUnreachable(ILogger log, string reason);
}

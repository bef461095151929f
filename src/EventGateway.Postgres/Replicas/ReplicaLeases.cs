using Microsoft.Extensions.Logging;
using Npgsql;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Postgres.Replicas;

/// <summary>
/// This replica's membership and leases in PostgreSQL (<see cref="LeaseRounds"/> over egw_leases): a round renews
/// everything held in one statement, and expiry is the database's clock.
/// </summary>
public sealed class ReplicaLeases(NpgsqlDataSource db, string replicaId, TimeSpan ttl, TimeProvider time, ILogger<ReplicaLeases> log)
    : LeaseRounds(replicaId, LeaseTable.ReplicaPrefix + replicaId, ttl, time, log, "the shared database")
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromSeconds(15);

    private readonly LeaseTable _table = new(db);

    /// <summary>hostname-pid-random: unique across restarts, so a restarted process never passes for the one that died.</summary>
    public static string NewReplicaId() =>
        $"{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";

    /// <summary>Every lease in the database as it stands.</summary>
    public Task<IReadOnlyList<LeaseRow>> ListAsync(CancellationToken ct = default) => _table.ListAsync(ct);

    protected override async Task<IReadOnlySet<string>> RenewAsync(IReadOnlyList<(string Name, long Epoch)> held, CancellationToken ct) =>
        await _table.RenewAsync(held, ReplicaId, Ttl, ct).ConfigureAwait(false);

    protected override Task<long?> TryAcquireAsync(string name, CancellationToken ct) => _table.TryAcquireAsync(name, ReplicaId, Ttl, ct);

    protected override Task ReleaseAsync(string name, long epoch, CancellationToken ct) => _table.ReleaseAsync(name, ReplicaId, epoch, ct);

    protected override Task<int> LiveReplicasAsync(CancellationToken ct) => _table.LiveReplicasAsync(ct);

    protected override bool DidNotAnswer(Exception e, CancellationToken ct) =>
        e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException && !ct.IsCancellationRequested;
}

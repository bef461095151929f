using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Shouldly;
using EventGateway.Postgres.Replicas;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// Leases of several replicas in a real PostgreSQL: one holder at a time, takeover only after expiry on the database's
/// clock with a higher epoch, the old holder told (its work token cancelled), a hold given up locally before the
/// database could hand it on, idle shards shared out, step claims. Rounds are driven directly (TickAsync) and time
/// through a fake clock; expiry in the database is forced with UPDATE, never waited for.
/// </summary>
public sealed class ReplicaLeasesTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(15);

    private sealed record Replica(ReplicaLeases Leases, FakeTimeProvider Time, NpgsqlDataSource Source);

    private async Task<(string Url, string Database)> NewDatabaseAsync()
    {
        var url = await server.NewDatabaseAsync();
        await (await PostgresDatabase.OpenAsync(url)).DisposeAsync();
        return (url, url.Split('/')[^1]);
    }

    private static Replica Start(string connectionString, string id)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        return new Replica(new ReplicaLeases(source, id, Ttl, time, NullLogger<ReplicaLeases>.Instance), time, source);
    }

    private async Task ExecAsync(string database, string sql)
    {
        await using var c = new NpgsqlConnection(server.ConnectionString(database));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task<(string Holder, long Epoch)> RowAsync(string database, string name)
    {
        await using var c = new NpgsqlConnection(server.ConnectionString(database));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT holder, epoch FROM egw_leases WHERE name = $1", c);
        cmd.Parameters.AddWithValue(name);
        await using var r = await cmd.ExecuteReaderAsync();
        (await r.ReadAsync()).ShouldBeTrue($"no lease row {name}");
        return (r.GetString(0), r.GetInt64(1));
    }

    [Fact]
    public async Task One_replica_holds_a_lease_and_another_takes_it_over_only_after_it_expired_with_a_higher_epoch()
    {
        var (_, database) = await NewDatabaseAsync();
        var a = Start(server.ConnectionString(database), "a");
        var b = Start(server.ConnectionString(database), "b");
        var aChanges = 0;
        using var aClaim = a.Leases.Claim("sensor/default/s", () => Interlocked.Increment(ref aChanges));
        using var bClaim = b.Leases.Claim("sensor/default/s", () => { });

        await a.Leases.TickAsync();
        await b.Leases.TickAsync();
        aClaim.Held.ShouldBeTrue();
        bClaim.Held.ShouldBeFalse("a holds it and it has not expired");
        var work = aClaim.Lost;
        work.IsCancellationRequested.ShouldBeFalse();
        (await RowAsync(database, "sensor/default/s")).ShouldBe(("a", 1L));

        // a renews while alive: b still cannot take it.
        await a.Leases.TickAsync();
        await b.Leases.TickAsync();
        bClaim.Held.ShouldBeFalse();

        // a stops renewing (dead): its lease expires on the database's clock, and b takes it with the next epoch.
        await ExecAsync(database, "UPDATE egw_leases SET expires_at = now() - interval '1 second' WHERE name = 'sensor/default/s'");
        await b.Leases.TickAsync();
        bClaim.Held.ShouldBeTrue();
        bClaim.Epoch.ShouldBe(2);
        (await RowAsync(database, "sensor/default/s")).ShouldBe(("b", 2L));

        // a comes back (a long pause, not a crash): its renewal finds the lease gone and its work is cancelled.
        await a.Leases.TickAsync();
        aClaim.Held.ShouldBeFalse();
        work.IsCancellationRequested.ShouldBeTrue("a's work under the old hold must stop");
        aChanges.ShouldBe(2, "gained once, lost once");
        (await RowAsync(database, "sensor/default/s")).ShouldBe(("b", 2L));
    }

    [Fact]
    public async Task A_replica_that_cannot_reach_the_database_gives_its_leases_up_before_they_expire_there_and_refuses_work()
    {
        var (_, database) = await NewDatabaseAsync();
        // Replica a connects as a role of its own, so the test can cut a off from the database without touching others.
        await ExecAsync(database, "CREATE ROLE replica_a LOGIN; GRANT SELECT, INSERT, UPDATE ON egw_leases TO replica_a");
        var a = Start($"Host=127.0.0.1;Port={server.Port};Username=replica_a;Database={database};Pooling=false;Timeout=5", "a");
        using var claim = a.Leases.Claim("singleton/cron", () => { });
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue();
        a.Leases.Unavailable.ShouldBeNull();
        var work = claim.Lost;

        await ExecAsync(database, "ALTER ROLE replica_a NOLOGIN");
        // Within TTL minus the margin the hold stays: one failed renewal is not yet a loss.
        a.Time.Advance(TimeSpan.FromSeconds(6));
        await a.Leases.TickAsync();
        claim.Held.ShouldBeTrue();
        work.IsCancellationRequested.ShouldBeFalse();

        // Past 4/5 of the TTL since the last renewal that reached the database: given up, 3 s before it could expire there.
        a.Time.Advance(TimeSpan.FromSeconds(6.5));
        await a.Leases.TickAsync();
        claim.Held.ShouldBeFalse();
        work.IsCancellationRequested.ShouldBeTrue();
        a.Leases.Unavailable.ShouldNotBeNull().ShouldContain("has not reached the shared database for 12s");
        // The database still records a's hold: nobody could have taken it while a's work was running.
        (await RowAsync(database, "singleton/cron")).ShouldBe(("a", 1L));
    }

    [Fact]
    public async Task Shards_are_shared_out_a_replica_with_more_than_its_share_hands_idle_ones_to_a_newcomer_and_keeps_busy_ones()
    {
        var (_, database) = await NewDatabaseAsync();
        var a = Start(server.ConnectionString(database), "a");
        var b = Start(server.ConnectionString(database), "b");
        var busy = new HashSet<string> { WorkflowShards.LeaseName(0), WorkflowShards.LeaseName(1), WorkflowShards.LeaseName(2),
            WorkflowShards.LeaseName(3), WorkflowShards.LeaseName(4), WorkflowShards.LeaseName(5), WorkflowShards.LeaseName(6),
            WorkflowShards.LeaseName(7), WorkflowShards.LeaseName(8), WorkflowShards.LeaseName(9) };
        var aShards = Enumerable.Range(0, WorkflowShards.Count).Select(i => WorkflowShards.LeaseName(i))
            .Select(n => a.Leases.Claim(n, () => { }, idle: () => !busy.Contains(n))).ToList();
        var bShards = Enumerable.Range(0, WorkflowShards.Count).Select(i => WorkflowShards.LeaseName(i))
            .Select(n => b.Leases.Claim(n, () => { }, idle: () => true)).ToList();

        await a.Leases.TickAsync();
        aShards.Count(c => c.Held).ShouldBe(16, "alone, a takes every shard");
        await b.Leases.TickAsync();
        bShards.Count(c => c.Held).ShouldBe(0, "all are held");

        await a.Leases.TickAsync(); // sees two replicas: a share of 8; hands over its idle shards beyond it
        aShards.Count(c => c.Held).ShouldBe(10, "6 idle shards handed over, the 10 busy ones kept");
        aShards.Where(c => !c.Held).Select(c => c.Name).ShouldAllBe(n => !busy.Contains(n));
        await b.Leases.TickAsync();
        bShards.Count(c => c.Held).ShouldBe(6);
        aShards.Zip(bShards).ShouldAllBe(p => p.First.Held != p.Second.Held);

        foreach (var c in aShards.Concat(bShards)) c.Dispose();
    }

    [Fact]
    public async Task A_lease_given_back_is_free_at_once_and_a_clean_stop_gives_back_every_lease()
    {
        var (_, database) = await NewDatabaseAsync();
        var a = Start(server.ConnectionString(database), "a");
        var b = Start(server.ConnectionString(database), "b");
        var given = a.Leases.Claim("eventsource/default/cal/calendar/tick", () => { });
        using var kept = a.Leases.Claim("singleton/reaper", () => { });
        using var bGiven = b.Leases.Claim("eventsource/default/cal/calendar/tick", () => { });
        using var bKept = b.Leases.Claim("singleton/reaper", () => { });
        await a.Leases.TickAsync();

        given.Dispose();
        await a.Leases.TickAsync();
        await b.Leases.TickAsync();
        bGiven.Held.ShouldBeTrue("given back: no TTL to wait for");
        bKept.Held.ShouldBeFalse();

        await a.Leases.StartAsync(CancellationToken.None);
        await a.Leases.StopAsync(CancellationToken.None);
        await b.Leases.TickAsync();
        bKept.Held.ShouldBeTrue("a stopped cleanly and gave it back");
    }

    [Fact]
    public async Task A_step_is_claimed_by_the_first_replica_and_a_retry_forgets_the_claim()
    {
        var (_, database) = await NewDatabaseAsync();
        await using var source = NpgsqlDataSource.Create(server.ConnectionString(database));
        var claims = new PostgresStepClaims(source);

        (await claims.ClaimAsync("uid-1", "node-1", "a", default)).ShouldBe("a");
        (await claims.ClaimAsync("uid-1", "node-1", "b", default)).ShouldBe("a", "b must not run a node a may have run");
        (await claims.ClaimAsync("uid-1", "node-1", "a", default)).ShouldBe("a", "a's restart adopts its own step");
        (await claims.ClaimAsync("uid-2", "node-1", "b", default)).ShouldBe("b", "another workflow (same name, new uid) is another step");
        var racing = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => claims.ClaimAsync("uid-3", "node-1", $"r{i}", default)));
        racing.Distinct().Count().ShouldBe(1, "racing replicas all learn the one winner");

        await claims.ForgetAsync("uid-1", ["node-1"], default);
        (await claims.ClaimAsync("uid-1", "node-1", "b", default)).ShouldBe("b");
    }
}

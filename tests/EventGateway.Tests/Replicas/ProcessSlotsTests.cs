using Npgsql;
using Shouldly;
using EventGateway.Postgres.Replicas;
using EventGateway.Postgres.Schema;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// The process cap across replicas as PostgreSQL decides it (egw_step_claims.slot): places go first asked, first
/// served whichever replica asks; never more held than the cap, also with many askers racing; the replica that takes
/// a shard over gives back the places its dead owner held and takes its waiting asks over with their place in line.
/// </summary>
public sealed class ProcessSlotsTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private const int Shard = 3;

    [Fact]
    public async Task Places_go_in_the_order_they_were_asked_for_across_replicas_and_never_beyond_the_cap()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var claims = new PostgresStepClaims(db.Source, processCap: 2);

        (await claims.ClaimSlotAsync("wf", "n1", Shard, "a", default)).Admitted.ShouldBeTrue();
        (await claims.ClaimSlotAsync("wf", "n2", Shard, "b", default)).Admitted.ShouldBeTrue();
        (await claims.ClaimSlotAsync("wf", "n3", Shard, "c", default)).ShouldBe(new SlotAnswer("c", false, 2), "two held, the cap");
        (await claims.ClaimSlotAsync("wf", "n4", Shard, "a", default)).Admitted.ShouldBeFalse();
        (await claims.ClaimSlotAsync("wf", "n5", Shard, "b", default)).Admitted.ShouldBeFalse();

        await claims.ReleaseSlotAsync("wf", "n1", "a", default);
        (await claims.ClaimSlotAsync("wf", "n5", Shard, "b", default)).Admitted.ShouldBeFalse("n3 and n4 asked first");
        (await claims.ClaimSlotAsync("wf", "n4", Shard, "a", default)).Admitted.ShouldBeFalse("n3 asked first");
        (await claims.ClaimSlotAsync("wf", "n3", Shard, "c", default)).ShouldBe(new SlotAnswer("c", true, 2));
        (await claims.ClaimSlotAsync("wf", "n3", Shard, "c", default)).ShouldBe(new SlotAnswer("c", true, 2), "asking again holds the same place");

        await claims.ReleaseSlotAsync("wf", "n2", "b", default);
        (await claims.ClaimSlotAsync("wf", "n5", Shard, "b", default)).Admitted.ShouldBeFalse("n4 asked first");
        (await claims.ClaimSlotAsync("wf", "n4", Shard, "a", default)).Admitted.ShouldBeTrue();
        (await HeldAsync(db.Source)).ShouldBe(2);

        // An asker that stopped asking (its replica died, no takeover yet) holds up no one.
        await claims.ReleaseSlotAsync("wf", "n3", "c", default);
        (await claims.ClaimSlotAsync("wf", "n6", Shard, "c", default)).Admitted.ShouldBeFalse("n5 asked first and still asks");
        await using (var c = db.Source.CreateCommand("UPDATE egw_step_claims SET polled_at = now() - interval '1 minute' WHERE node_id = 'n5'"))
            await c.ExecuteNonQueryAsync();
        (await claims.ClaimSlotAsync("wf", "n6", Shard, "c", default)).Admitted.ShouldBeTrue("n5 has not asked for longer than an asker lives");
    }

    [Fact]
    public async Task Thirty_steps_of_three_replicas_racing_for_three_places_never_hold_more_and_all_get_one()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var claims = new PostgresStepClaims(db.Source, processCap: 3);
        var (running, most, ran) = (0, 0, 0);
        var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(async () =>
        {
            var replica = $"r{i % 3}";
            while (!(await claims.ClaimSlotAsync("wf", $"n{i}", Shard, replica, default)).Admitted) await Task.Yield();
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            if (now == 3) full.TrySetResult();
            // The first holders keep their places until all three are taken (bounded, in case the cap admits fewer):
            // the check then sees the overlap on any machine, and the others keep asking meanwhile.
            await Task.WhenAny(full.Task, Task.Delay(TimeSpan.FromSeconds(10)));
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref ran);
            await claims.ReleaseSlotAsync("wf", $"n{i}", replica, default);
        })));
        ran.ShouldBe(30);
        most.ShouldBeLessThanOrEqualTo(3);
        most.ShouldBeGreaterThan(1, "the steps overlapped (the check would see an excess)");
        (await HeldAsync(db.Source)).ShouldBe(0);
    }

    [Fact]
    public async Task Taking_a_shard_over_gives_back_the_dead_owners_places_and_keeps_its_waiting_asks_in_line()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var claims = new PostgresStepClaims(db.Source, processCap: 2);
        (await claims.ClaimSlotAsync("wf-a", "n1", Shard, "a", default)).Admitted.ShouldBeTrue();
        (await claims.ClaimSlotAsync("wf-a", "n2", Shard, "a", default)).Admitted.ShouldBeTrue();
        (await claims.ClaimSlotAsync("wf-a", "n3", Shard, "a", default)).Admitted.ShouldBeFalse();
        (await claims.ClaimSlotAsync("wf-b", "m1", Shard + 1, "b", default)).Admitted.ShouldBeFalse("a holds both places");

        // a dies; b takes a's shard over: a's places go, its steps stay a's (lost with it), its waiting ask is b's now.
        await claims.ReleaseOthersAsync([Shard], "b", default);
        (await HeldAsync(db.Source)).ShouldBe(0);
        (await claims.ClaimSlotAsync("wf-a", "n1", Shard, "b", default)).Claimant.ShouldBe("a", "n1 may have run on a");
        (await claims.ClaimSlotAsync("wf-b", "m2", Shard + 1, "b", default)).Admitted.ShouldBeFalse("n3 and m1 asked first");
        (await claims.ClaimSlotAsync("wf-a", "n3", Shard, "b", default)).ShouldBe(new SlotAnswer("b", true, 1), "a's waiting ask, taken over with its place: first in line");
        (await claims.ClaimSlotAsync("wf-b", "m1", Shard + 1, "b", default)).Admitted.ShouldBeTrue();
        (await claims.ClaimSlotAsync("wf-b", "m2", Shard + 1, "b", default)).Admitted.ShouldBeFalse("the cap");

        // A takeover gives back only the places of its own shards.
        await claims.ReleaseOthersAsync([Shard], "c", default);
        (await HeldAsync(db.Source)).ShouldBe(1, "m1's place (another shard) stays");
    }

    private static async Task<long> HeldAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT count(*) FROM egw_step_claims WHERE slot = 'held'");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;
using Shouldly;
using EventGateway.Model;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Store;
using EventGateway.Tests.Support;
using EventGateway.Tests.Workflows.Store;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Postgres;

/// <summary>The resource store contract on PostgreSQL, plus what only a shared store has: other replicas' changes.</summary>
public sealed class PostgresResourceStoreTests(PostgresServer server) : ResourceStoreContractTests<PostgresResourceStore>, IClassFixture<PostgresServer>
{
    private readonly List<PostgresDatabase> _databases = [];
    private string _url = null!;

    public override async Task InitializeAsync()
    {
        _url = await server.NewDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override Task<PostgresResourceStore> OpenAsync() => OpenAsync(_time);

    private async Task<PostgresResourceStore> OpenAsync(TimeProvider time)
    {
        var db = await PostgresDatabase.OpenAsync(_url);
        _databases.Add(db);
        return await PostgresResourceStore.OpenAsync(db, time);
    }

    protected override async Task CloseAsync(PostgresResourceStore store) => await store.DisposeAsync();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var db in _databases) await db.DisposeAsync();
    }

    private static async Task<IReadOnlyList<ResourceChange>> SeenAsync(ConcurrentQueue<ResourceChange> seen, int count, string what) =>
        await Eventually.Get(() => Task.FromResult(seen.Count >= count ? seen.ToList() : null), what, TimeSpan.FromSeconds(60));

    [Fact]
    public async Task A_change_committed_by_one_replica_reaches_the_watchers_of_another_once_and_in_order()
    {
        await using var other = await OpenAsync();
        var mine = new ConcurrentQueue<ResourceChange>();
        var theirs = new ConcurrentQueue<ResourceChange>();
        using var w1 = _store.Watch("Workflow", mine.Enqueue);
        using var w2 = other.Watch("Workflow", theirs.Enqueue);

        var a = await _store.CreateAsync(Wf("a"));
        a.Spec.Parallelism = 2;
        await _store.UpdateAsync(a);
        await _store.DeleteAsync<Workflow>("default", "a");
        await _store.CreateAsync(Cm("not-watched", "x"));

        var seen = await SeenAsync(theirs, 3, "the other replica to see three changes");
        seen.Select(c => (c.Type, c.Namespace, c.Name, c.ResourceVersion)).ShouldBe(
        [
            (ChangeType.Added, "default", "a", 1L),
            (ChangeType.Modified, "default", "a", 2L),
            (ChangeType.Deleted, "default", "a", 3L),
        ]);
        (await other.GetAsync<Workflow>("default", "a")).ShouldBeNull();

        // The writer saw its own changes on its own calls; its listener must not announce them a second time. A change
        // from the other replica arrives after the writer's own notices, so once it is seen those were skipped.
        await other.CreateAsync(Wf("b"));
        await SeenAsync(mine, 4, "the writer to see the other replica's change");
        mine.Select(c => (c.Type, c.Name, c.ResourceVersion)).ShouldBe(
        [
            (ChangeType.Added, "a", 1L), (ChangeType.Modified, "a", 2L), (ChangeType.Deleted, "a", 3L), (ChangeType.Added, "b", 5L),
        ]);
        theirs.Count.ShouldBe(4);
    }

    [Fact]
    public async Task Changes_made_while_a_replica_was_disconnected_reach_it_after_it_reconnects()
    {
        var clock = new ParkingFakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var other = await OpenAsync(clock);
        var theirs = new ConcurrentQueue<ResourceChange>();
        using var w = other.Watch("ConfigMap", theirs.Enqueue);
        await _store.CreateAsync(Cm("before", "1"));
        await SeenAsync(theirs, 1, "the change before the disconnect");

        await using (var admin = new NpgsqlConnection(server.ConnectionString(_url.Split('/')[^1])))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin) { Parameters = { new() { Value = other.ListenerProcessId } } };
            (await kill.ExecuteScalarAsync()).ShouldBe(true);
        }
        // The listener noticed and waits for the clock before reconnecting: nothing can arrive by NOTIFY meanwhile.
        await Eventually.Get(() => Task.FromResult(!other.Listening && clock.HasPendingTimer(TimeSpan.FromSeconds(1)) ? "parked" : null), "the listener to wait for its reconnect");
        var updated = (await _store.GetAsync<ConfigMap>("default", "before"))!;
        updated.Data!["value"] = "2";
        await _store.UpdateAsync(updated);
        await _store.CreateAsync(Cm("while-away", "x"));
        await _store.DeleteAsync<ConfigMap>("default", "before");
        theirs.Count.ShouldBe(1);

        clock.Advance(TimeSpan.FromSeconds(1));
        var seen = await SeenAsync(theirs, 4, "the changes made while away");
        seen.Skip(1).Select(c => (c.Type, c.Name, c.ResourceVersion)).ShouldBe(
        [
            (ChangeType.Modified, "before", 2L), (ChangeType.Added, "while-away", 3L), (ChangeType.Deleted, "before", 4L),
        ]);
        other.Connects.ShouldBe(2);

        // And the new connection listens: a later change arrives by NOTIFY.
        await _store.CreateAsync(Cm("after", "y"));
        (await SeenAsync(theirs, 5, "a change after the reconnect"))[4].Name.ShouldBe("after");
    }

    [Fact]
    public async Task Concurrent_updates_from_two_replicas_conflict_and_none_is_lost()
    {
        await using var other = await OpenAsync();
        await _store.CreateAsync(Cm("counter", "0"));

        // The same version read by both: the second writer is refused.
        var mine = (await _store.GetAsync<ConfigMap>("default", "counter"))!;
        var theirs = (await other.GetAsync<ConfigMap>("default", "counter"))!;
        theirs.Data!["value"] = "theirs";
        await other.UpdateAsync(theirs);
        mine.Data!["value"] = "mine";
        await Should.ThrowAsync<ConflictException>(() => _store.UpdateAsync(mine));
        (await _store.GetAsync<ConfigMap>("default", "counter"))!.Data!["value"].ShouldBe("theirs");

        // Read-modify-write with retry on conflict from both replicas at once: every increment lands.
        var reset = (await _store.GetAsync<ConfigMap>("default", "counter"))!;
        reset.Data!["value"] = "0";
        await _store.UpdateAsync(reset);
        var conflicts = 0;
        async Task Increment(IResourceStore store)
        {
            while (true)
            {
                var cm = (await store.GetAsync<ConfigMap>("default", "counter"))!;
                cm.Data!["value"] = (int.Parse(cm.Data["value"], CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
                try { await store.UpdateAsync(cm); return; }
                catch (ConflictException) { Interlocked.Increment(ref conflicts); }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => Increment(i % 2 == 0 ? _store : other))));
        (await other.GetAsync<ConfigMap>("default", "counter"))!.Data!["value"].ShouldBe("40");
    }

    [Fact]
    public async Task Two_replicas_creating_the_same_name_at_once_make_one_object()
    {
        await using var other = await OpenAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            try { await (i % 2 == 0 ? _store : other).CreateAsync(Wf("once")); return true; }
            catch (ConflictException) { return false; }
        })));
        results.Count(r => r).ShouldBe(1);
        (await _store.ListAsync<Workflow>()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Concurrent_writes_of_one_replica_commit_together_and_a_refused_one_leaves_the_others_and_no_gap()
    {
        await _store.CreateAsync(Cm("taken", "x"));
        var writes = Enumerable.Range(0, 50).Select(i => Task.Run(() => _store.CreateAsync(i == 25 ? Cm("taken", "y") : Cm($"c{i}", "v")))).ToList();

        (await Should.ThrowAsync<ConflictException>(() => writes[25])).Message.ShouldBe("ConfigMap default/taken already exists");
        await Task.WhenAll(writes.Where((_, i) => i != 25));
        var all = await _store.ListAsync<ConfigMap>();
        all.Count.ShouldBe(50);
        all.Single(c => c.Name == "taken").Data!["value"].ShouldBe("x");
        // The refused write gave its version back inside the shared transaction: versions 1..50, none skipped.
        all.Select(Rv).Order().ShouldBe(Enumerable.Range(1, 50).Select(i => (long)i));
    }

    [Fact]
    public async Task A_replica_away_longer_than_the_feed_is_kept_hears_of_every_object_changed_meanwhile()
    {
        var clock = new ParkingFakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var other = await OpenAsync(clock);
        var theirs = new ConcurrentQueue<ResourceChange>();
        using var w = other.Watch("ConfigMap", theirs.Enqueue);
        await _store.CreateAsync(Cm("seen", "1"));
        await SeenAsync(theirs, 1, "the change before the disconnect");

        await using var admin = new NpgsqlConnection(server.ConnectionString(_url.Split('/')[^1]));
        await admin.OpenAsync();
        await using (var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin) { Parameters = { new() { Value = other.ListenerProcessId } } })
            await kill.ExecuteScalarAsync();
        await Eventually.Get(() => Task.FromResult(!other.Listening && clock.HasPendingTimer(TimeSpan.FromSeconds(1)) ? "parked" : null), "the listener to wait for its reconnect");
        await _store.CreateAsync(Cm("made-while-away", "x"));
        var changed = (await _store.GetAsync<ConfigMap>("default", "seen"))!;
        changed.Data!["value"] = "2";
        await _store.UpdateAsync(changed);
        // The feed no longer holds those changes (as after an hour away).
        await using (var prune = new NpgsqlCommand("DELETE FROM egw_resource_changes", admin))
            await prune.ExecuteNonQueryAsync();

        clock.Advance(TimeSpan.FromSeconds(1));
        var seen = await SeenAsync(theirs, 3, "every object changed while away");
        seen.Skip(1).Select(c => (c.Type, c.Name, c.ResourceVersion)).ShouldBe([(ChangeType.Modified, "made-while-away", 2L), (ChangeType.Modified, "seen", 3L)]);
        await _store.CreateAsync(Cm("after", "y"));
        (await SeenAsync(theirs, 4, "a change after the relist"))[3].Name.ShouldBe("after");
    }
}

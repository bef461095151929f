using Npgsql;
using Shouldly;
using EventGateway.Events.Sensors.State;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Sensors;
using EventGateway.Tests.Events.Sensors.State;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Postgres;

/// <summary>The sensor state contract on PostgreSQL, plus fenced writes: a replica that lost a sensor's lease writes nothing.</summary>
public sealed class PostgresSensorStateStoreTests(PostgresServer server) : SensorStateStoreContractTests<PostgresSensorStateStore>, IClassFixture<PostgresServer>
{
    private readonly List<PostgresDatabase> _databases = [];
    private string _url = null!;

    public override async Task InitializeAsync()
    {
        _url = await server.NewDatabaseAsync();
        await base.InitializeAsync();
    }

    protected override async Task<PostgresSensorStateStore> OpenAsync()
    {
        var db = await PostgresDatabase.OpenAsync(_url);
        _databases.Add(db);
        return new PostgresSensorStateStore(db);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var db in _databases) await db.DisposeAsync();
    }

    private async Task SetLeaseAsync(string name, string holder, long epoch)
    {
        await using var c = new NpgsqlConnection(server.ConnectionString(_url.Split('/')[^1]));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO egw_leases (name, holder, epoch, expires_at) VALUES ($1, $2, $3, now() + interval '15 seconds')
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at
            """, c);
        cmd.Parameters.Add(new() { Value = name });
        cmd.Parameters.Add(new() { Value = holder });
        cmd.Parameters.Add(new() { Value = epoch });
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_pass_fenced_by_the_current_lease_is_written()
    {
        await SetLeaseAsync("sensor/default/ci", "replica-a", 3);
        _store.Commit(Pass("default/ci", 10, new LeaseFence("sensor/default/ci", "replica-a", 3)));
        _store.GetCheckpoint("default/ci").ShouldBe(10L);
    }

    [Fact]
    public async Task A_pass_fenced_by_a_stale_epoch_writes_nothing_and_says_who_holds_the_lease()
    {
        await SetLeaseAsync("sensor/default/ci", "replica-a", 3);
        _store.Commit(Pass("default/ci", 10, new LeaseFence("sensor/default/ci", "replica-a", 3)));
        // Replica b took the sensor over (epoch 4); replica a's late pass must not move the checkpoint back or add decisions.
        await SetLeaseAsync("sensor/default/ci", "replica-b", 4);
        var late = Pass("default/ci", 11, new LeaseFence("sensor/default/ci", "replica-a", 3));
        late.Firings.Add(new FiringRecord("default/ci", "build", "k11", [11], T0, Outcomes.Triggered, null));
        late.DeadLetters.Add(new DeadLetter(0, "default/ci", "notify", "k11", [11], new Dictionary<string, EventGateway.Events.Log.CloudEvent>(), "boom", T0, null, null));

        var e = Should.Throw<FencedWriteException>(() => _store.Commit(late));
        e.Message.ShouldBe("sensor default/ci's pass was not written: it needs lease 'sensor/default/ci' held by replica-a at epoch 3, but it is held by replica-b at epoch 4 (another replica took it over)");

        _store.GetCheckpoint("default/ci").ShouldBe(10L);
        _store.DecisionsFor([11]).ShouldBeEmpty();
        _store.FindFiring("default/ci", "build", "k11", DateTimeOffset.UnixEpoch).ShouldBeNull();
        _store.DeadLetters().ShouldBeEmpty();
        _store.LoadPartial("default/ci")["deploy"]["push"].Sequence.ShouldBe(10L);
        _store.Counters("default/ci")["deploy"][Outcomes.Waiting].ShouldBe(1L);

        // The same holder with a newer epoch (it took the lease again) is not the old owner either way round.
        Should.Throw<FencedWriteException>(() => _store.Commit(Pass("default/ci", 12, new LeaseFence("sensor/default/ci", "replica-b", 3))));
        _store.Commit(Pass("default/ci", 12, new LeaseFence("sensor/default/ci", "replica-b", 4)));
        _store.GetCheckpoint("default/ci").ShouldBe(12L);
    }

    [Fact]
    public void A_fence_on_a_lease_no_one_holds_is_refused()
    {
        var e = Should.Throw<FencedWriteException>(() => _store.Commit(Pass("default/ci", 1, new LeaseFence("sensor/default/ci", "replica-a", 1))));
        e.Message.ShouldContain("but no one holds it");
        _store.GetCheckpoint("default/ci").ShouldBeNull();
    }

    [Fact]
    public async Task Fenced_forget_and_replay_marks_write_nothing_once_the_lease_moved()
    {
        _store.Commit(Pass("default/ci", 5));
        var b = new SensorBatch("default/ci");
        b.DeadLetters.Add(new DeadLetter(0, "default/ci", "t", "k", [5], new Dictionary<string, EventGateway.Events.Log.CloudEvent>(), "boom", T0, null, null));
        _store.Commit(b);
        var letter = _store.DeadLetters().Single();
        await SetLeaseAsync("sensor/default/ci", "replica-b", 2);

        Should.Throw<FencedWriteException>(() => _store.Forget("default/ci", new LeaseFence("sensor/default/ci", "replica-a", 1)));
        Should.Throw<FencedWriteException>(() => _store.MarkReplayed(letter.Id, T0, "triggered", new LeaseFence("sensor/default/ci", "replica-a", 1)));
        _store.GetCheckpoint("default/ci").ShouldBe(5L);
        _store.DeadLetters().ShouldHaveSingleItem().ReplayedAt.ShouldBeNull();

        _store.Forget("default/ci", new LeaseFence("sensor/default/ci", "replica-b", 2));
        _store.GetCheckpoint("default/ci").ShouldBeNull();
    }
}

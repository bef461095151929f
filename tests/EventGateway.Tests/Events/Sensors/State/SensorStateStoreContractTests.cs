using System.Text;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.State;

namespace EventGateway.Tests.Events.Sensors.State;

/// <summary>
/// What every <see cref="ISensorStateStore"/> promises, run against each implementation (embedded SQLite, PostgreSQL).
/// Subclasses open a fresh, empty store and can reopen it over the same storage.
/// </summary>
public abstract class SensorStateStoreContractTests<TStore> : IAsyncLifetime where TStore : class, ISensorStateStore
{
    protected static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    protected TStore _store = null!;

    protected abstract Task<TStore> OpenAsync();

    protected virtual Task CloseAsync(TStore store)
    {
        (store as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    public virtual async Task InitializeAsync() => _store = await OpenAsync();

    public virtual async Task DisposeAsync() => await CloseAsync(_store);

    protected static CloudEvent Event(string id, string json = """{"n":1}""") =>
        new(id, "github", "github", "push", T0, Encoding.UTF8.GetBytes(json));

    protected static SensorBatch Pass(string sensor, long checkpoint, LeaseFence? fence = null)
    {
        var batch = new SensorBatch(sensor) { Checkpoint = checkpoint, Fence = fence };
        batch.Partial["deploy"] = new Dictionary<string, PartialEvent> { ["push"] = new(checkpoint, Event($"e{checkpoint}")) };
        batch.Decisions.Add(new Decision(checkpoint, sensor, "", Outcomes.Passed, null, T0));
        batch.Decisions.Add(new Decision(checkpoint, sensor, "deploy", Outcomes.Waiting, "needs tag", T0));
        return batch;
    }

    [Fact]
    public async Task A_pass_is_read_back_whole_and_survives_reopening()
    {
        var batch = Pass("default/ci", 7);
        batch.Firings.Add(new FiringRecord("default/ci", "build", "delivery-1", [5, 7], T0, Outcomes.Triggered, "workflow ci-abc"));
        batch.DeadLetters.Add(new DeadLetter(0, "default/ci", "notify", "delivery-1", [7], new Dictionary<string, CloudEvent> { ["push"] = Event("e7") }, "HTTP 500", T0, null, null));
        _store.Commit(batch);

        await CloseAsync(_store);
        _store = await OpenAsync();

        _store.GetCheckpoint("default/ci").ShouldBe(7L);
        _store.GetCheckpoint("default/other").ShouldBeNull();
        var partial = _store.LoadPartial("default/ci");
        partial["deploy"]["push"].Sequence.ShouldBe(7L);
        partial["deploy"]["push"].Event.Id.ShouldBe("e7");
        Encoding.UTF8.GetString(partial["deploy"]["push"].Event.Data.Span).ShouldBe("""{"n":1}""");
        var firing = _store.FindFiring("default/ci", "build", "delivery-1", T0).ShouldNotBeNull();
        (firing.Outcome, firing.Detail, firing.Time).ShouldBe((Outcomes.Triggered, "workflow ci-abc", T0));
        firing.Sequences.ShouldBe([5L, 7L]);
        _store.FindFiring("default/ci", "build", "delivery-1", T0.AddMilliseconds(1)).ShouldBeNull(); // older than the window
        _store.FindFiring("default/ci", "build", "delivery-2", T0).ShouldBeNull();
        var counters = _store.Counters("default/ci");
        counters.Keys.Order(StringComparer.Ordinal).ShouldBe(["", "deploy"]);
        counters[""].ShouldBe(new Dictionary<string, long> { [Outcomes.Passed] = 1 });
        counters["deploy"].ShouldBe(new Dictionary<string, long> { [Outcomes.Waiting] = 1 });
        var letter = _store.DeadLetters().ShouldHaveSingleItem();
        (letter.Sensor, letter.Trigger, letter.DedupKey, letter.Error, letter.Time).ShouldBe(("default/ci", "notify", "delivery-1", "HTTP 500", T0));
        letter.Sequences.ShouldBe([7L]);
        letter.Events["push"].Id.ShouldBe("e7");
        _store.GetDeadLetter(letter.Id).ShouldNotBeNull().Events["push"].Source.ShouldBe("github");
        _store.GetDeadLetter(letter.Id + 1000).ShouldBeNull();
    }

    [Fact]
    public void A_replayed_pass_counts_each_decision_once_and_keeps_the_latest_reason()
    {
        _store.Commit(Pass("default/ci", 3));
        var again = Pass("default/ci", 3);
        again.Decisions[1] = again.Decisions[1] with { Reason = "still needs tag", Time = T0.AddSeconds(1) };
        _store.Commit(again);
        _store.Commit(Pass("default/ci", 4));

        _store.Counters("default/ci")["deploy"][Outcomes.Waiting].ShouldBe(2L);
        var decisions = _store.DecisionsFor([3, 4, 99]);
        decisions.Select(d => (d.Sequence, d.Trigger, d.Outcome, d.Reason)).ShouldBe(
        [
            (3L, "", Outcomes.Passed, (string?)null), (3L, "deploy", Outcomes.Waiting, "still needs tag"),
            (4L, "", Outcomes.Passed, null), (4L, "deploy", Outcomes.Waiting, "needs tag"),
        ]);
        _store.DecisionsFor([]).ShouldBeEmpty();
    }

    [Fact]
    public void Partial_state_is_replaced_per_trigger_and_cleared_by_an_empty_state()
    {
        _store.Commit(Pass("default/ci", 1));
        var second = new SensorBatch("default/ci");
        second.Partial["other"] = new Dictionary<string, PartialEvent> { ["tag"] = new(2, Event("e2")) };
        _store.Commit(second);
        _store.LoadPartial("default/ci").Keys.Order(StringComparer.Ordinal).ShouldBe(["deploy", "other"]);

        var clear = new SensorBatch("default/ci");
        clear.Partial["deploy"] = new Dictionary<string, PartialEvent>();
        _store.Commit(clear);
        _store.LoadPartial("default/ci").Keys.ShouldBe(["other"]);
        _store.GetCheckpoint("default/ci").ShouldBe(1L); // a batch without a checkpoint leaves it
    }

    [Fact]
    public void A_firing_recorded_again_replaces_the_earlier_record()
    {
        var first = new SensorBatch("default/ci");
        first.Firings.Add(new FiringRecord("default/ci", "build", "k", [1], T0, Outcomes.Failed, "HTTP 500"));
        _store.Commit(first);
        var second = new SensorBatch("default/ci");
        second.Firings.Add(new FiringRecord("default/ci", "build", "k", [1, 2], T0.AddMinutes(1), Outcomes.Triggered, null));
        _store.Commit(second);

        var f = _store.FindFiring("default/ci", "build", "k", T0).ShouldNotBeNull();
        (f.Outcome, f.Detail, f.Time).ShouldBe((Outcomes.Triggered, (string?)null, T0.AddMinutes(1)));
        f.Sequences.ShouldBe([1L, 2L]);
    }

    [Fact]
    public void Dead_letters_are_listed_newest_first_and_marked_when_replayed()
    {
        foreach (var (sensor, key) in new[] { ("default/a", "k1"), ("default/b", "k2"), ("default/a", "k3") })
        {
            var b = new SensorBatch(sensor);
            b.DeadLetters.Add(new DeadLetter(0, sensor, "t", key, [1], new Dictionary<string, CloudEvent>(), "boom", T0, null, null));
            _store.Commit(b);
        }
        _store.DeadLetters().Select(l => l.DedupKey).ShouldBe(["k3", "k2", "k1"]);
        _store.DeadLetters("default/a").Select(l => l.DedupKey).ShouldBe(["k3", "k1"]);
        _store.DeadLetters(limit: 1).Select(l => l.DedupKey).ShouldBe(["k3"]);

        var k1 = _store.DeadLetters().Single(l => l.DedupKey == "k1");
        _store.MarkReplayed(k1.Id, T0.AddHours(1), "triggered: workflow x");
        _store.DeadLetters().Select(l => l.DedupKey).ShouldBe(["k3", "k2"]);
        var replayed = _store.DeadLetters(includeReplayed: true).Single(l => l.DedupKey == "k1");
        (replayed.ReplayedAt, replayed.ReplayOutcome).ShouldBe((T0.AddHours(1), "triggered: workflow x"));
    }

    [Fact]
    public void Forgetting_a_sensor_drops_its_position_and_partial_state_but_keeps_its_history()
    {
        _store.Commit(Pass("default/ci", 5));
        _store.Commit(Pass("default/kept", 6));
        _store.Forget("default/ci");

        _store.GetCheckpoint("default/ci").ShouldBeNull();
        _store.LoadPartial("default/ci").ShouldBeEmpty();
        _store.Counters("default/ci").ShouldNotBeEmpty();
        _store.DecisionsFor([5]).Count.ShouldBe(2);
        _store.GetCheckpoint("default/kept").ShouldBe(6L);
    }

    [Fact]
    public void Pruning_drops_old_firings_and_decisions_only()
    {
        var old = new SensorBatch("default/ci") { Checkpoint = 2 };
        old.Firings.Add(new FiringRecord("default/ci", "t", "old", [1], T0, Outcomes.Triggered, null));
        old.Firings.Add(new FiringRecord("default/ci", "t", "new", [2], T0.AddHours(2), Outcomes.Triggered, null));
        old.Decisions.Add(new Decision(1, "default/ci", "t", Outcomes.Triggered, null, T0));
        old.Decisions.Add(new Decision(2, "default/ci", "t", Outcomes.Triggered, null, T0.AddHours(2)));
        _store.Commit(old);

        _store.Prune(T0.AddHours(1), T0.AddHours(1)).ShouldBe(2);
        _store.FindFiring("default/ci", "t", "old", DateTimeOffset.UnixEpoch).ShouldBeNull();
        _store.FindFiring("default/ci", "t", "new", DateTimeOffset.UnixEpoch).ShouldNotBeNull();
        _store.DecisionsFor([1, 2]).Select(d => d.Sequence).ShouldBe([2L]);
        _store.Counters("default/ci")["t"][Outcomes.Triggered].ShouldBe(2L); // counters are totals, never pruned
        _store.GetCheckpoint("default/ci").ShouldBe(2L);
    }

    [Fact]
    public void An_empty_batch_writes_nothing()
    {
        _store.Commit(new SensorBatch("default/ci"));
        _store.GetCheckpoint("default/ci").ShouldBeNull();
    }
}

public sealed class SqliteSensorStateStoreTests : SensorStateStoreContractTests<SqliteSensorStateStore>
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-sensors-").FullName;

    protected override Task<SqliteSensorStateStore> OpenAsync() => Task.FromResult(new SqliteSensorStateStore(Path.Combine(_dir, "sensors.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

using Shouldly;
using EventGateway.Events.Sensors;
using EventGateway.Model;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Sensors;
using EventGateway.Postgres.Store;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Replicas;

/// <summary>
/// The sensor workflow cap over several replicas, each with its own gate and store over one real PostgreSQL: a place is
/// taken in the database before a workflow is created, so firings of sensors on different replicas racing for the last
/// place never take more than the cap; a completed workflow's place is freed and the waiting firing of another replica
/// gets it; places of workflows that ended unseen and of firings that died are dropped once the cap is reached.
/// </summary>
public sealed class SensorWorkflowPlacesTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static Workflow Made(string name) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default", Labels = new() { [SensorWorkflowGate.SensorLabel] = "s" } },
        Spec = new WorkflowSpec { Entrypoint = "main" },
        Status = new WorkflowStatus { Phase = WorkflowPhase.Running },
    };

    [Fact]
    public async Task Firings_on_three_replicas_racing_for_the_last_place_take_it_once_and_a_completed_workflow_frees_it_for_another_replica()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        var stores = new List<PostgresResourceStore>();
        var gates = new List<SensorWorkflowGate>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var store = await PostgresResourceStore.OpenAsync(db);
                stores.Add(store);
                gates.Add(new SensorWorkflowGate(store, 3, new PostgresSensorWorkflowPlaces(db.Source)));
            }
            // Two places held by running workflows of replicas 0 and 1: one place is left.
            foreach (var (gate, name) in new[] { (gates[0], "wf-0"), (gates[1], "wf-1") })
            {
                (await gate.TryEnterAsync($"firing:{name}", default)).ShouldBeTrue();
                await stores[0].CreateAsync(Made(name));
                await gate.TrackAsync("default", name, $"firing:{name}", default);
            }

            var taken = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => gates[i % 3].TryEnterAsync($"firing:race-{i}", default))));
            taken.Count(t => t).ShouldBe(1, "one place was left, whichever replica asked");
            gates.Max(g => g.Held).ShouldBe(3);

            // The winner created its workflow; a firing on another replica waits until wf-0 completes (seen by replica 0, which tracks it).
            var winner = Array.IndexOf(taken, true);
            await stores[0].CreateAsync(Made("wf-2"));
            await gates[winner % 3].TrackAsync("default", "wf-2", $"firing:race-{winner}", default);
            var waiter = gates[(winner + 1) % 3];
            (await waiter.TryEnterAsync("firing:late", default)).ShouldBeFalse();
            var entered = waiter.WaitAsync("firing:late", CancellationToken.None);
            entered.IsCompleted.ShouldBeFalse();
            var done = (await stores[1].GetAsync<Workflow>("default", "wf-0"))!;
            done.Status!.Phase = WorkflowPhase.Succeeded;
            await stores[1].UpdateAsync(done);
            await entered.WaitAsync(TestEngine.Patience);
            (await waiter.TryEnterAsync("firing:another", default)).ShouldBeFalse("wf-1, wf-2 and the late firing hold the three places");

            // A firing that created nothing gives its place back.
            await waiter.LeaveAsync("firing:late", default);
            (await gates[winner % 3].TryEnterAsync("firing:another", default)).ShouldBeTrue();
        }
        finally
        {
            foreach (var g in gates) g.Dispose();
            foreach (var s in stores) await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task At_the_cap_places_of_workflows_that_ended_unseen_and_of_firings_that_died_are_dropped()
    {
        var url = await server.NewDatabaseAsync();
        await using var db = await PostgresDatabase.OpenAsync(url);
        await using var store = await PostgresResourceStore.OpenAsync(db);
        var places = new PostgresSensorWorkflowPlaces(db.Source);
        // A replica bound two places to workflows and took one for a firing, then died: nobody tracks them.
        await store.CreateAsync(Made("ended"));
        await store.CreateAsync(Made("deleted"));
        await places.BindAsync(null, "default", "ended", default);
        await places.BindAsync(null, "default", "deleted", default);
        (await places.TryTakeAsync("firing:died", 3, default)).ShouldBe((true, 3));
        (await places.TryTakeAsync("firing:new", 3, default)).ShouldBe((false, 3), "both workflows still exist unfinished");

        var ended = (await store.GetAsync<Workflow>("default", "ended"))!;
        ended.Status!.Phase = WorkflowPhase.Failed;
        await store.UpdateAsync(ended);
        (await places.TryTakeAsync("firing:new", 3, default)).ShouldBe((true, 3), "a completed workflow holds no place");
        await store.DeleteAsync<Workflow>("default", "deleted");
        (await places.TryTakeAsync("firing:next", 3, default)).ShouldBe((true, 3), "nor a deleted one");
        (await places.TryTakeAsync("firing:last", 3, default)).ShouldBe((false, 3));
        await using (var c = db.Source.CreateCommand("UPDATE egw_sensor_workflow_places SET taken_at = now() - interval '1 hour' WHERE holder = 'firing:died'"))
            await c.ExecuteNonQueryAsync();
        (await places.TryTakeAsync("firing:last", 3, default)).ShouldBe((true, 3), "a firing that never created its workflow for that long died with its replica");
    }
}

using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// The advanced seed's hands-on exercise (004, "Production-Ready Scheduled Pipeline") against its success criteria:
/// the CronWorkflow and WorkflowTemplate are accepted, two runs are submitted from the CronWorkflow as
/// `egw submit --from cronwf/scheduled-pipeline` does, the build comes from the template by templateRef and is
/// memoized (the second run is a cache hit that starts no process), the suspend gate pauses 10 s and resumes on its
/// own, the exit handler reports the final status, and the semaphore (limit 1) never lets the runs overlap.
/// Real processes; the clock is a fake one moved forward while the test polls, so the 10 s pause costs no real time.
/// </summary>
public sealed class AdvancedSeedExerciseTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Seeds", "41-s4-scheduled-pipeline.yaml");
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Two_runs_from_the_cron_workflow_succeed_one_after_the_other_and_the_second_build_is_a_cache_hit()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        await using var t = await TestEngine.StartAsync(time: time, configure: o => o.StatusSaveInterval = Tick);
        var docs = ManifestReader.ReadFile(Fixture);
        docs.OfType<CronWorkflow>().Single().Spec.Schedules.ShouldBe(["*/5 * * * *"]);
        await t.Engine.ApplyAsync(docs);

        // Both at once, as two quick `egw submit --from cronwf/...`: the semaphore makes the second wait.
        var runs = new List<Workflow>();
        for (var i = 0; i < 2; i++)
            runs.Add(await t.Engine.SubmitAsync(await t.Engine.Submitter.FromAsync("cronwf", "argo", "scheduled-pipeline")));
        runs.Select(r => r.Metadata.Labels?.GetValueOrDefault("workflows.argoproj.io/cron-workflow")).ShouldAllBe(l => l == "scheduled-pipeline");

        var done = await Eventually.Get(async () =>
        {
            var now = new List<Workflow>();
            foreach (var r in runs)
                if (await t.Engine.Store.GetAsync<Workflow>("argo", r.Name) is { Status.IsCompleted: true } w) now.Add(w);
            return now.Count == runs.Count ? now : null;
        }, "both runs to complete", TestEngine.Patience, eachPoll: () => time.Advance(Tick));
        done.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded, string.Join("; ", done.Select(Describe)));

        // Semaphore of 1: every step of the later run starts after every step of the earlier one has finished.
        var ordered = done.OrderBy(w => Steps(w).Min(n => n.StartedAt)).ToList();
        var (first, second) = (ordered[0], ordered[1]);
        Steps(second).Min(n => n.StartedAt!.Value).ShouldBeGreaterThanOrEqualTo(Steps(first).Max(n => n.FinishedAt!.Value), "the runs overlapped under a semaphore of 1");

        // The build: from the WorkflowTemplate by templateRef, run once, then taken from the cache.
        var build1 = TestEngine.Node(first, "build-app");
        var build2 = TestEngine.Node(second, "build-app");
        build1.TemplateName.ShouldBe("build");
        build1.MemoizationStatus.ShouldNotBeNull().Hit.ShouldBeFalse();
        t.Logs(first, build1).ShouldContain("Building my-service");
        build2.MemoizationStatus.ShouldNotBeNull().Hit.ShouldBeTrue();
        build2.MemoizationStatus.Key.ShouldBe("build-my-service");
        build2.MemoizationStatus.CacheName.ShouldBe("build-cache");
        t.Logs(second, build2).ShouldBeEmpty("a cache hit starts no process");
        build2.Outputs!.Parameters!.Single(p => p.Name == "build-id").Value.ShouldBe(build1.Outputs!.Parameters!.Single(p => p.Name == "build-id").Value);
        build1.Outputs.Parameters!.Single(p => p.Name == "build-id").Value.ShouldBe("done");
        var cache = await t.Engine.Store.GetAsync<ConfigMap>("argo", "build-cache");
        cache!.Data!.Keys.ShouldBe(["build-my-service"]);

        foreach (var run in done)
        {
            // The approval gate paused 10 s on the clock and resumed by itself; deploy came after it.
            var approval = TestEngine.Node(run, "approval");
            approval.Type.ShouldBe(NodeType.Suspend);
            (approval.FinishedAt!.Value - approval.StartedAt!.Value).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10));
            var deploy = TestEngine.Node(run, "deploy");
            deploy.StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(approval.FinishedAt.Value);
            deploy.Phase.ShouldBe(NodePhase.Succeeded);

            // The exit handler ran last and saw the final status.
            var exit = TestEngine.Node(run, $"{run.Name}.onExit");
            exit.Phase.ShouldBe(NodePhase.Succeeded);
            t.Logs(run, exit).ShouldContain($"Exit handler: {run.Name} status=Succeeded");
        }
    }

    private static IEnumerable<NodeStatus> Steps(Workflow wf) =>
        wf.Status!.Nodes!.Values.Where(n => n.Type == NodeType.Pod && n.StartedAt is not null && n.FinishedAt is not null && n.MemoizationStatus?.Hit != true);

    private static string Describe(Workflow w) =>
        $"{w.Name}={w.Status?.Phase} {w.Status?.Message}: " + string.Join(", ", w.Status?.Nodes?.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}") ?? []);
}

using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Retention;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>podGC, ttlStrategy and archiving on real processes and files, driven by a fake clock.</summary>
public sealed class GarbageCollectionTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    /// <summary>Saves are throttled on the (frozen) clock: a tiny interval and a tick per poll let them through without moving time much.</summary>
    private static void FastSaves(EventGatewayOptions o) => o.StatusSaveInterval = Tick;

    /// <summary>Only podGC: no default TTL, cap or archive sweep, so "nothing is due" means no pod is.</summary>
    private static void PodGCOnly(EventGatewayOptions o)
    {
        FastSaves(o);
        o.Retention = RetentionOptions.KeepEverything();
    }

    private const string Pipeline = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: gc}
        spec:
          entrypoint: main
          podGC: {strategy: STRATEGY, deleteDelayDuration: 30s}
          arguments: {parameters: [{name: final, value: "0"}]}
          templates:
          - name: main
            steps:
            - - {name: ok, template: ok}
              - {name: bad, template: bad, continueOn: {failed: true}}
            - - {name: hold, template: hold}
            - - {name: last, template: last}
          - name: ok
            container: {image: busybox, command: [sh, -c, "echo ok"]}
          - name: bad
            container: {image: busybox, command: [sh, -c, "echo bad; exit 1"]}
          - name: hold
            suspend: {duration: 1h}
          - name: last
            container: {image: busybox, command: [sh, -c, "echo last; exit {{workflow.parameters.final}}"]}
        """;

    private static string PodDir(TestEngine t, Workflow wf, NodeStatus node) => Path.Combine(t.DataDir, "pods", wf.NamespaceOrDefault, wf.Name, node.Id);

    /// <summary>Waits until the reaper's next action is due at <paramref name="at"/>: what it plans, once it has taken in what happened.</summary>
    private static Task Due(WorkflowReaper reaper, DateTimeOffset? at, string what) =>
        Eventually.Get(() => Task.FromResult(reaper.NextDue == at ? "" : null), $"{what}: next action due at {at?.ToString("O") ?? "never"}");

    private static string[] Split(string names) => names.Split(',', StringSplitOptions.RemoveEmptyEntries);

    [Theory]
    [InlineData("OnPodCompletion", "1", "ok,bad", "ok,bad,last")]
    [InlineData("OnPodSuccess", "1", "ok", "ok")]
    [InlineData("OnWorkflowCompletion", "1", "", "ok,bad,last")]
    [InlineData("OnWorkflowSuccess", "1", "", "")]
    [InlineData("OnWorkflowSuccess", "0", "", "ok,bad,last")]
    public async Task PodGC_removes_exactly_the_pods_its_strategy_names_after_the_delay(string strategy, string final, string whileRunning, string atEnd)
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time, configure: PodGCOnly);
        var docs = ManifestReader.Read(Pipeline.Replace("STRATEGY", strategy));
        var submitted = await t.Engine.SubmitAsync(docs.OfType<Workflow>().Single(), [KeyValuePair.Create("final", final)]);
        var run = t.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);
        var reaper = t.Engine.Reaper;

        // The first group has ended and that is saved: the workflow waits in its suspend step.
        var held = await Eventually.Get(async () => await t.Engine.Store.GetAsync<Workflow>("default", "gc") is { Status.Nodes: { } nodes } w
            && nodes.Values.Any(n => n.DisplayName == "hold" && n.Phase == NodePhase.Running) ? w : null, "the hold step", eachPoll: () => time.Advance(Tick));
        var first = new[] { "ok", "bad" }.ToDictionary(n => n, n => TestEngine.Node(held, n));
        foreach (var (name, node) in first) Directory.Exists(PodDir(t, held, node)).ShouldBeTrue($"{name} ran in its directory");

        var removedEarly = Split(whileRunning);
        if (removedEarly.Length > 0)
        {
            var due = removedEarly.Min(n => first[n].FinishedAt!.Value) + TimeSpan.FromSeconds(30);
            await Due(reaper, due, "podGC to be scheduled");
            time.Advance(due - Tick - time.GetUtcNow());
            foreach (var node in first.Values) Directory.Exists(PodDir(t, held, node)).ShouldBeTrue($"{node.DisplayName} is kept until the delay has passed");
            time.Advance(removedEarly.Max(n => first[n].FinishedAt!.Value) + TimeSpan.FromSeconds(30) - time.GetUtcNow());
            await Eventually.Get(() => Task.FromResult(removedEarly.All(n => !Directory.Exists(PodDir(t, held, first[n]))) && reaper.NextDue is null ? "" : null),
                $"{whileRunning} removed while the workflow runs");
        }
        else reaper.NextDue.ShouldBeNull("nothing is collected while the workflow runs");
        foreach (var (name, node) in first.Where(p => !removedEarly.Contains(p.Key))) Directory.Exists(PodDir(t, held, node)).ShouldBeTrue($"{name} is kept while the workflow runs");
        (await t.Engine.Store.GetAsync<Workflow>("default", "gc"))!.Status!.Phase.ShouldBe(WorkflowPhase.Running);

        time.Advance(TimeSpan.FromHours(1));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(final == "0" ? WorkflowPhase.Succeeded : WorkflowPhase.Failed);
        var all = new[] { "ok", "bad", "last" }.ToDictionary(n => n, n => TestEngine.Node(wf, n));
        var removedLate = Split(atEnd).Except(removedEarly).ToList();
        if (removedLate.Count > 0)
        {
            var moment = strategy.StartsWith("OnPod", StringComparison.Ordinal) ? all["last"].FinishedAt!.Value : wf.Status.FinishedAt!.Value;
            var due = moment + TimeSpan.FromSeconds(30);
            await Due(reaper, due, "podGC after completion");
            time.Advance(due - Tick - time.GetUtcNow());
            foreach (var n in removedLate) Directory.Exists(PodDir(t, wf, all[n])).ShouldBeTrue($"{n} is kept until the delay has passed");
            time.Advance(Tick);
            await Eventually.Get(() => Task.FromResult(removedLate.All(n => !Directory.Exists(PodDir(t, wf, all[n]))) && reaper.NextDue is null ? "" : null),
                $"{string.Join(",", removedLate)} removed after completion");
        }
        else
        {
            time.Advance(TimeSpan.FromHours(1));
            await Due(reaper, null, "nothing left to collect");
        }
        foreach (var (name, node) in all)
            Directory.Exists(PodDir(t, wf, node)).ShouldBe(!Split(atEnd).Contains(name), $"{name} under {strategy} with a {wf.Status.Phase} workflow");
        // What was collected into the status stays.
        (await t.Engine.Store.GetAsync<Workflow>("default", "gc"))!.Status!.Nodes!.Values.Single(n => n.DisplayName == "ok").Outputs!.Result.ShouldBe("ok");
    }

    [Fact]
    public async Task PodGC_label_selector_limits_the_pods_it_removes()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var submitted = await t.Engine.SubmitAsync(ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: labelled}
            spec:
              entrypoint: main
              podGC:
                strategy: OnWorkflowCompletion
                labelSelector: {matchExpressions: [{key: gc, operator: In, values: ["yes"]}]}
              templates:
              - name: main
                steps:
                - - {name: marked, template: marked}
                  - {name: plain, template: plain}
              - name: marked
                metadata: {labels: {gc: "yes"}}
                container: {image: busybox, command: [echo, marked]}
              - name: plain
                container: {image: busybox, command: [echo, plain]}
            """).OfType<Workflow>().Single());
        var wf = await t.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);
        // No deleteDelayDuration: the service default (Argo's 5s).
        await Due(t.Engine.Reaper, wf.Status!.FinishedAt!.Value + TimeSpan.FromSeconds(5), "podGC");
        time.Advance(TimeSpan.FromSeconds(5));
        await Eventually.Get(() => Task.FromResult(Directory.Exists(PodDir(t, wf, TestEngine.Node(wf, "marked"))) ? null : ""), "the marked pod removed");
        Directory.Exists(PodDir(t, wf, TestEngine.Node(wf, "plain"))).ShouldBeTrue();
    }

    private const string Timed = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: timed}
        spec:
          entrypoint: main
          TTL
          templates:
          - name: main
            container: {image: busybox, command: [sh, -c, "echo data > /tmp/out.txt; exit CODE"]}
            outputs:
              artifacts: [{name: out, path: /tmp/out.txt, optional: true}]
        """;

    [Theory]
    [InlineData("ttlStrategy: {secondsAfterCompletion: 100}", 0, 100)]
    [InlineData("ttlStrategy: {secondsAfterCompletion: 100}", 1, 100)]
    [InlineData("ttlStrategy: {secondsAfterSuccess: 10, secondsAfterCompletion: 100}", 0, 10)]
    [InlineData("ttlStrategy: {secondsAfterSuccess: 10, secondsAfterCompletion: 100}", 1, 100)]
    [InlineData("ttlStrategy: {secondsAfterFailure: 20, secondsAfterCompletion: 100}", 1, 20)]
    [InlineData("ttlStrategy: {secondsAfterFailure: 20}", 0, null)]
    [InlineData("", 0, 300)] // the service default (egw serve --workflow-ttl 5m)
    public async Task TtlStrategy_deletes_the_workflow_and_everything_it_left_only_after_its_time(string ttl, int code, int? seconds)
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time, configure: o => (o.Retention.WorkflowTtl, o.Retention.ArchiveTtl) = (TimeSpan.FromMinutes(5), null));
        var wf = await t.RunYamlAsync(Timed.Replace("TTL", ttl).Replace("CODE", code.ToString()));
        wf.Status!.Phase.ShouldBe(code == 0 ? WorkflowPhase.Succeeded : WorkflowPhase.Failed);
        var pods = Path.Combine(t.DataDir, "pods", "default", "timed");
        var artifacts = Path.Combine(t.DataDir, "artifacts", "default", "timed");
        Directory.Exists(pods).ShouldBeTrue();
        Directory.Exists(artifacts).ShouldBeTrue();
        var archive = t.Engine.Archive!;
        await Eventually.Get(async () => await archive.ContainsAsync(wf.Metadata.Uid!) ? "" : null, "the finished workflow archived");

        if (seconds is null)
        {
            t.Engine.Reaper.NextDue.ShouldBeNull("a Succeeded workflow with only secondsAfterFailure is kept");
            return;
        }
        var due = wf.Status.FinishedAt!.Value + TimeSpan.FromSeconds(seconds.Value);
        await Due(t.Engine.Reaper, due, "the expiry");
        time.Advance(due - Tick - time.GetUtcNow());
        (await t.Engine.Store.GetAsync<Workflow>("default", "timed")).ShouldNotBeNull();
        Directory.Exists(pods).ShouldBeTrue();
        time.Advance(Tick);
        await Eventually.Get(async () => await t.Engine.Store.GetAsync<Workflow>("default", "timed") is null ? "" : null, "the workflow deleted");
        await Eventually.Get(() => Task.FromResult(Directory.Exists(pods) || Directory.Exists(artifacts) ? null : ""), "its pods and artifacts removed");
        (await archive.GetAsync(wf.Metadata.Uid!))!.Status!.Phase.ShouldBe(wf.Status.Phase, "the archive keeps it");
    }

    [Fact]
    public async Task A_restart_re_arms_the_ttl_from_the_stored_finish_time()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-test-").FullName;
        var before = new FakeTimeProvider(Epoch);
        Workflow wf;
        await using (var first = new EmbeddedEngine(new EventGatewayOptions { DataDir = dataDir }, null, before))
        {
            await first.StartAsync();
            wf = await first.RunAsync(ManifestReader.Read(Timed.Replace("TTL", "ttlStrategy: {secondsAfterCompletion: 60}").Replace("CODE", "0")).OfType<Workflow>().Single());
            await Due(first.Reaper, wf.Status!.FinishedAt!.Value + TimeSpan.FromSeconds(60), "the expiry");
        }

        // Down for 30s; the new process knows nothing but the store.
        var after = new FakeTimeProvider(wf.Status.FinishedAt.Value + TimeSpan.FromSeconds(30));
        await using var t = await TestEngine.StartAsync(time: after, dataDir: dataDir);
        await Due(t.Engine.Reaper, wf.Status.FinishedAt.Value + TimeSpan.FromSeconds(60), "the re-armed expiry");
        (await t.Engine.Store.GetAsync<Workflow>("default", "timed")).ShouldNotBeNull();
        after.Advance(TimeSpan.FromSeconds(30));
        await Eventually.Get(async () => await t.Engine.Store.GetAsync<Workflow>("default", "timed") is null ? "" : null, "the workflow deleted after the restart");
        await Eventually.Get(() => Task.FromResult(Directory.Exists(Path.Combine(dataDir, "pods", "default", "timed")) ? null : ""), "its pods removed");
    }

    [Fact]
    public async Task Archive_ttl_drops_old_archived_workflows()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time, configure: o => o.Retention.ArchiveTtl = TimeSpan.FromMinutes(10));
        var wf = await t.RunYamlAsync(Timed.Replace("TTL", "").Replace("CODE", "0"));
        var archive = t.Engine.Archive!;
        await Eventually.Get(async () => await archive.ContainsAsync(wf.Metadata.Uid!) ? "" : null, "archived");
        // Sweeps run hourly from the start; the first one after the workflow is 10 minutes old drops it.
        await Due(t.Engine.Reaper, Epoch + TimeSpan.FromHours(1), "the archive sweep");
        time.Advance(TimeSpan.FromHours(1));
        await Eventually.Get(async () => await archive.ContainsAsync(wf.Metadata.Uid!) ? null : "", "the archived workflow dropped");
        (await t.Engine.Store.GetAsync<Workflow>("default", "timed")).ShouldNotBeNull("the archive TTL does not touch live workflows");
    }

    [Theory]
    [InlineData("podGC: {strategy: OnSunday}", "spec.podGC.strategy", "'OnSunday' is not one of OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess")]
    [InlineData("podGC: {strategy: OnPodSuccess, deleteDelayDuration: soon}", "spec.podGC.deleteDelayDuration", "'soon' is not a duration")]
    [InlineData("podGC: {strategy: OnPodSuccess, labelSelector: {matchExpressions: [{key: a, operator: Near}]}}", "spec.podGC.labelSelector", "matchExpressions[0].operator: 'Near' is not one of In, NotIn, Exists, DoesNotExist")]
    [InlineData("podGC: {stratgy: OnPodSuccess}", "spec.podGC.stratgy", "unknown field")]
    [InlineData("ttlStrategy: {secondsAfterFailure: -5}", "spec.ttlStrategy.secondsAfterFailure", "must not be negative")]
    public async Task Bad_retention_settings_are_refused_with_their_field_path(string setting, string path, string reason)
    {
        await using var t = await TestEngine.StartAsync();
        var e = await Should.ThrowAsync<ManifestException>(async () =>
            await t.Engine.SubmitAsync(ManifestReader.Read(Timed.Replace("TTL", setting).Replace("CODE", "0")).OfType<Workflow>().Single()));
        e.Errors.ShouldContain(x => x.Path == path && x.Reason.Contains(reason), string.Join("; ", e.Errors));
        (await t.Engine.Store.ListAsync<Workflow>()).ShouldBeEmpty();
    }
}

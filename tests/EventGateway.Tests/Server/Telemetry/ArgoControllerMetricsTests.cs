using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Schedules;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using Shouldly;

namespace EventGateway.Tests.Server.Telemetry;

/// <summary>
/// Argo Workflows' controller metrics beyond the ones MetricsScrapeTests checks, with Argo's names and labels
/// (docs/metrics.md): CronWorkflow triggers and concurrency policies and submission errors (on a fake clock over a real
/// store), and the workflow-template, queue-timing and lock metrics of a real controller running real steps.
/// </summary>
public sealed class ArgoControllerMetricsTests
{
    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var s = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(s);
        return Encoding.UTF8.GetString(s.ToArray());
    }

    private static double? Sample(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [Fact]
    public async Task CronWorkflow_triggers_concurrency_policies_and_submission_errors_are_counted_by_name()
    {
        var dir = Directory.CreateTempSubdirectory("egw-cron-metrics-");
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-05T09:59:30Z", CultureInfo.InvariantCulture));
        time.SetLocalTimeZone(TimeZoneInfo.Utc);
        using var store = new SqliteResourceStore(Path.Combine(dir.FullName, "egw.db"), time);
        var executor = new LocalProcessExecutor(dir.FullName, 4, Sandbox.Detect(false), time, NullLogger<LocalProcessExecutor>.Instance);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var scheduler = new CronScheduler(store, new WorkflowSubmitter(store), new WorkflowControls(store, time),
            new WorkflowDeleter(store, executor, new LocalArtifactRepository(dir.FullName)), time, NullLogger<CronScheduler>.Instance, registry);
        foreach (var (name, policy) in new[] { ("forbid", "Forbid"), ("replace", "Replace"), ("clash", "Allow") })
            await store.ApplyAsync(ManifestReader.Read($$"""
                apiVersion: argoproj.io/v1alpha1
                kind: CronWorkflow
                metadata: {name: {{name}}}
                spec:
                  schedules: ["0 * * * *"]
                  concurrencyPolicy: {{policy}}
                  workflowSpec:
                    entrypoint: main
                    templates:
                      - name: main
                        container: {image: alpine, command: [echo, hi]}
                """).OfType<CronWorkflow>().Single());
        // A workflow not created by "clash" already has the name of its 11:00 tick: that submission fails.
        await store.ApplyAsync(ManifestReader.Read($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: clash-{{DateTimeOffset.Parse("2026-01-05T11:00:00Z", CultureInfo.InvariantCulture).ToUnixTimeSeconds()}}}
            spec:
              entrypoint: main
              templates:
                - name: main
                  suspend: {}
            """).OfType<Workflow>().Single());

        async Task At(string instant)
        {
            time.SetUtcNow(DateTimeOffset.Parse(instant, CultureInfo.InvariantCulture));
            foreach (var name in new[] { "forbid", "replace", "clash" }) await scheduler.ReconcileAsync("default", name);
        }
        var before = await ScrapeAsync(registry);
        Sample(before, """argo_workflows_error_count{cause="CronWorkflowSubmissionError"}""").ShouldBe(0); // exists at zero, as Argo's
        await At("2026-01-05T10:00:00Z"); // every one runs its first tick
        await At("2026-01-05T11:00:00Z"); // forbid: skipped (its run is active); replace: terminates and runs; clash: fails

        var text = await ScrapeAsync(registry);
        Sample(text, """argo_workflows_cronworkflows_triggered_total{name="forbid",namespace="default"}""").ShouldBe(1); // the Forbid-suppressed tick is not counted
        Sample(text, """argo_workflows_cronworkflows_triggered_total{name="replace",namespace="default"}""").ShouldBe(2);
        Sample(text, """argo_workflows_cronworkflows_triggered_total{name="clash",namespace="default"}""").ShouldBe(2);
        Sample(text, """argo_workflows_cronworkflows_concurrencypolicy_triggered{name="forbid",namespace="default",concurrency_policy="Forbid"}""").ShouldBe(1);
        Sample(text, """argo_workflows_cronworkflows_concurrencypolicy_triggered{name="replace",namespace="default",concurrency_policy="Replace"}""").ShouldBe(1);
        text.ShouldNotContain("""name="clash",namespace="default",concurrency_policy""");
        Sample(text, """argo_workflows_error_count{cause="CronWorkflowSubmissionError"}""").ShouldBe(1);
        dir.Delete(recursive: true);
    }

    [Fact]
    public async Task A_real_controller_reports_workflow_template_runs_queue_timings_and_mutex_holders_and_waiters()
    {
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        var registry = host.Get<CollectorRegistry>();
        await host.Store.ApplyAllAsync(ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: build}
            spec:
              entrypoint: main
              templates: [{name: main, container: {image: alpine, command: [sh, -c, "echo built"]}}]
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: holder}
            spec:
              entrypoint: main
              synchronization: {mutexes: [{name: deploy}]}
              templates: [{name: main, suspend: {}}]
            """, "test.yaml"));
        // Submitted as `argo submit --from` would: the submitter resolves the reference.
        await host.Get<WorkflowSubmitter>().SubmitAsync(ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: from-template}
            spec: {workflowTemplateRef: {name: build}}
            """).OfType<Workflow>().Single());
        var done = await Eventually.Get(async () => await host.Store.GetAsync<Workflow>("default", "from-template") is { Status.IsCompleted: true } w ? w : null,
            "from-template completed", TestEngine.Patience);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done.Status.Message);
        const string mutex = """{type="mutex",storage="configmap",lock_name="deploy",namespace="default"}""";
        await Eventually.Get(async () => Sample(await ScrapeAsync(registry), "argo_workflows_locks_held" + mutex) == 1 ? "" : null, "holder holding the mutex", TestEngine.Patience);
        await host.Store.ApplyAllAsync(ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: waiter}
            spec:
              entrypoint: main
              synchronization: {mutexes: [{name: deploy}]}
              templates: [{name: main, suspend: {}}]
            """, "test.yaml"));
        var text = await Eventually.Get(async () => await ScrapeAsync(registry) is var t && Sample(t, "argo_workflows_locks_pending" + mutex) == 1 ? t : null,
            "waiter waiting for the mutex", TestEngine.Patience);

        Sample(text, "argo_workflows_locks_held" + mutex).ShouldBe(1);
        Sample(text, "argo_workflows_locks_taken_total" + mutex).ShouldBe(1);
        const string template = "name=\"build\",namespace=\"default\",cluster_scope=\"false\"";
        Sample(text, "argo_workflows_workflowtemplate_triggered_total{" + template + ",phase=\"Running\"}").ShouldBe(1);
        Sample(text, "argo_workflows_workflowtemplate_triggered_total{" + template + ",phase=\"Succeeded\"}").ShouldBe(1);
        Sample(text, "argo_workflows_workflowtemplate_runtime_count{" + template + "}").ShouldBe(1);
        Sample(text, "argo_workflows_workflowtemplate_runtime_sum{" + template + "}")!.Value
            .ShouldBe((done.Status.FinishedAt!.Value - done.Status.StartedAt!.Value).TotalSeconds, 0.001);
        text.ShouldNotContain("workflowtemplate_triggered_total{name=\"holder\""); // no workflowTemplateRef: not counted
        Sample(text, """argo_workflows_queue_latency_count{queue_name="workflow_queue"}""")!.Value.ShouldBeGreaterThanOrEqualTo(3);
        Sample(text, """argo_workflows_queue_duration_count{queue_name="workflow_queue"}""")!.Value.ShouldBeGreaterThanOrEqualTo(3);
        text.ShouldContain("# TYPE argo_workflows_queue_latency histogram\n");

        // The holder is resumed and ends: the waiter takes the mutex; a lock no one uses any more leaves the gauges.
        await host.Get<WorkflowControls>().ResumeAsync("default", "holder");
        // A scrape may fall between the grant (counted) and the waiter leaving the waiting list: wait for both.
        text = await Eventually.Get(async () => await ScrapeAsync(registry) is var t && Sample(t, "argo_workflows_locks_taken_total" + mutex) == 2
                && Sample(t, "argo_workflows_locks_pending" + mutex) == 0 ? t : null,
            "waiter taking the mutex and no longer pending", TestEngine.Patience);
        Sample(text, "argo_workflows_locks_held" + mutex).ShouldBe(1);
    }
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Server.Telemetry;

/// <summary>
/// /metrics of a real `egw serve` after real work: webhook events through a sensor into workflows, two that succeed and one
/// that fails. Argo Workflows' controller metrics, Argo Events' source and sensor metrics and the workflows' own YAML
/// metrics must all agree with what happened.
/// </summary>
public sealed class MetricsScrapeTests
{
    /// <summary>The sample's value, or null when the exposition has no such line.</summary>
    private static double? Sample(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [Fact]
    public async Task After_two_succeeded_and_one_failed_workflow_Argos_names_and_the_YAML_metrics_agree()
    {
        var hookPort = EventTestHost.FreePort();
        var manifests = Directory.CreateTempSubdirectory("egw-metrics-manifests-").FullName;
        await File.WriteAllTextAsync(Path.Combine(manifests, "pipeline.yaml"), $$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hooks}
            spec:
              webhook:
                run: {endpoint: /run, port: "{{{hookPort}}}", method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: runner}
            spec:
              dependencies:
                - {name: run, eventSourceName: hooks, eventName: run}
              triggers:
                - template:
                    name: start
                    argoWorkflow:
                      operation: submit
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: job-}
                          spec:
                            entrypoint: main
                            arguments: {parameters: [{name: code, value: "0"}]}
                            metrics:
                              prometheus:
                                - name: job_result
                                  help: Jobs by result
                                  labels: [{key: status, value: "{{status}}"}]
                                  counter: {value: "1"}
                            templates:
                              - name: main
                                container: {image: alpine, command: [sh, -c, "exit {{workflow.parameters.code}}"]}
                      parameters:
                        - src: {dependencyName: run, dataKey: body.code}
                          dest: spec.arguments.parameters.0.value
            """);
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", manifests]);
        using var api = serve.CreateClient(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        async Task<string> Scrape()
        {
            using var resp = await api.GetAsync("metrics");
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
            resp.Content.Headers.ContentType!.ToString().ShouldBe("text/plain; version=0.0.4; charset=utf-8");
            return await resp.Content.ReadAsStringAsync();
        }

        const string source = """namespace="default",eventsource_name="hooks",event_name="run"}""";
        const string sensor = """{namespace="default",sensor_name="runner",trigger_name="start"}""";
        // The listener is up and its series exist at zero before any event, as Argo Events creates them.
        await Eventually.Get(async () => Sample(await Scrape(), """argo_events_event_service_running_total{namespace="default",eventsource_name="hooks"}""") == 1 ? "" : null,
            "the webhook listener running", TestEngine.Patience);
        await Eventually.Get(async () => Sample(await Scrape(), "argo_events_action_triggered_total" + sensor) == 0 ? "" : null, "the sensor's series at zero", TestEngine.Patience);

        foreach (var code in new[] { "0", "0", "3" })
        {
            using var resp = await http.PostAsync($"http://127.0.0.1:{hookPort}/run", new StringContent($$"""{"code":"{{code}}"}""", Encoding.UTF8, "application/json"));
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        using (var bad = await http.PostAsync($"http://127.0.0.1:{hookPort}/run", new StringContent("not json", Encoding.UTF8, "application/json")))
            bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var text = await Eventually.Get(async () => await Scrape() is var t
            && Sample(t, """argo_workflows_total_count{phase="Succeeded",namespace="default"}""") == 2
            && Sample(t, """argo_workflows_total_count{phase="Failed",namespace="default"}""") == 1 ? t : null,
            "2 succeeded and 1 failed workflow in argo_workflows_total_count", TestEngine.Patience);

        // Argo Workflows' controller metrics.
        Sample(text, """argo_workflows_gauge{phase="Succeeded"}""").ShouldBe(2);
        Sample(text, """argo_workflows_gauge{phase="Failed"}""").ShouldBe(1);
        Sample(text, """argo_workflows_gauge{phase="Running"}""").ShouldBe(0);
        Sample(text, """argo_workflows_total_count{phase="Running",namespace="default"}""").ShouldBe(3);
        Sample(text, """argo_workflows_pods_total_count{phase="Succeeded",namespace="default"}""").ShouldBe(2, string.Join("\n", text.Split((char)10).Where(l => l.Contains("pods", StringComparison.Ordinal))));
        Sample(text, """argo_workflows_pods_total_count{phase="Failed",namespace="default"}""").ShouldBe(1);
        Sample(text, """argo_workflows_pods_gauge{phase="Running"}""").ShouldBe(0);
        Sample(text, """argo_workflows_queue_depth_gauge{queue_name="workflow_queue"}""").ShouldNotBeNull();
        Sample(text, """argo_workflows_workers_busy_count{worker_type="workflow_queue"}""").ShouldNotBeNull();
        Sample(text, """argo_workflows_queue_adds_count{queue_name="workflow_queue"}""")!.Value.ShouldBeGreaterThanOrEqualTo(3);
        Sample(text, "argo_workflows_operation_duration_seconds_count")!.Value.ShouldBeGreaterThanOrEqualTo(3);
        Sample(text, """argo_workflows_error_count{cause="OperationPanic"}""").ShouldBe(0);
        Sample(text, "argo_workflows_is_leader").ShouldBe(1);
        text.ShouldContain("# TYPE argo_workflows_operation_duration_seconds histogram\n");
        Sample(text, """argo_workflows_queue_latency_count{queue_name="workflow_queue"}""")!.Value.ShouldBeGreaterThanOrEqualTo(3);
        Sample(text, """argo_workflows_queue_duration_count{queue_name="workflow_queue"}""")!.Value.ShouldBeGreaterThanOrEqualTo(3);
        Sample(text, """argo_workflows_error_count{cause="CronWorkflowSubmissionError"}""").ShouldBe(0);
        // Families with series only once used (ArgoControllerMetricsTests checks their values) are declared from the start.
        foreach (var family in new[] { "cronworkflows_triggered_total counter", "cronworkflows_concurrencypolicy_triggered counter",
                     "workflowtemplate_triggered_total counter", "workflowtemplate_runtime histogram", "locks_held gauge", "locks_pending gauge", "locks_taken_total counter" })
            text.ShouldContain($"# TYPE argo_workflows_{family}\n");

        // Argo Events' EventSource metrics: three events durable, the non-JSON body a processing failure, no failed send.
        Sample(text, "argo_events_events_sent_total{" + source).ShouldBe(3);
        Sample(text, "argo_events_events_sent_failed_total{" + source).ShouldBe(0);
        Sample(text, "argo_events_events_processing_failed_total{" + source).ShouldBe(1);
        Sample(text, "argo_events_event_processing_duration_milliseconds_count{" + source).ShouldBe(3);
        text.ShouldContain("# TYPE argo_events_event_processing_duration_milliseconds summary\n");
        Sample(text, """argo_events_event_processing_duration_milliseconds{""" + source.TrimEnd('}') + """,quantile="0.99"}""").ShouldNotBeNull();

        // Argo Events' Sensor metrics: three firings, none failed.
        Sample(text, "argo_events_action_triggered_total" + sensor).ShouldBe(3);
        Sample(text, "argo_events_action_failed_total" + sensor).ShouldBe(0);
        Sample(text, "argo_events_action_retries_failed_total" + sensor).ShouldBe(0);
        Sample(text, "argo_events_action_duration_milliseconds_count" + sensor).ShouldBe(3);

        // The project's own sensor counts and the workflows' YAML metrics.
        Sample(text, """eventgateway_sensor_events_total{sensor="default/runner",trigger="start",outcome="triggered"}""").ShouldBe(3);
        text = await Eventually.Get(async () => await Scrape() is var t
            && Sample(t, """argo_workflows_job_result{status="Succeeded"}""") == 2 && Sample(t, """argo_workflows_job_result{status="Failed"}""") == 1 ? t : null,
            "the YAML counter by status", TestEngine.Patience);

        // The Grafana dashboard asks only for families this service exposes.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "deploy", "grafana", "eventgateway-dashboard.json"))) dir = dir.Parent;
        var dashboard = await File.ReadAllTextAsync(Path.Combine(dir!.FullName, "deploy", "grafana", "eventgateway-dashboard.json"));
        var names = Regex.Matches(dashboard, @"\b(?:argo_workflows|argo_events|eventgateway)_[a-z_]+").Select(m => Regex.Replace(m.Value, "_bucket$", "")).Distinct().ToList();
        names.Count.ShouldBeGreaterThan(10);
        foreach (var name in names) text.ShouldContain($"# TYPE {name} ", customMessage: $"the dashboard's {name}");
    }
}

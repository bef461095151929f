using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shouldly;

namespace EventGateway.Tests.Server.Api;

/// <summary>
/// Argo's custom metrics (spec.metrics, template metrics) on the service's real /metrics endpoint: counters,
/// gauges, histograms, labels and when rendered from the workflow's run, realtime gauges, refusals at load.
/// </summary>
public sealed class CustomMetricsTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-metrics-").FullName;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new FileLoggerProvider(Path.Combine(Path.GetTempPath(), "egw-test-warnings.log")));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddEventGateway(new EventGatewayOptions { DataDir = dataDir, EventListenAddress = "127.0.0.1" });
        _app = builder.Build();
        _app.MapEventGatewayApi();
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            EventGateway.Server.Security.AdminTokenFile.LoadOrCreate(dataDir).Token);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<Workflow> RunAsync(string yaml)
    {
        var wf = (Workflow)ManifestReader.Read(yaml).Single();
        var created = await _app.Services.GetRequiredService<WorkflowSubmitter>().SubmitAsync(wf);
        return await Eventually.Get(async () => await _app.Services.GetRequiredService<IResourceStore>().GetAsync<Workflow>(created.NamespaceOrDefault, created.Name) is { Status.IsCompleted: true } done ? done : null,
            $"workflow {created.Name} completed", TestEngine.Patience);
    }

    private async Task<string> ScrapeAsync()
    {
        using var resp = await _http.GetAsync("metrics");
        resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        return await resp.Content.ReadAsStringAsync();
    }

    /// <summary>The sample's value, or null when the exposition has no such line.</summary>
    private static double? Sample(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [Fact]
    public async Task Counters_gauges_and_histograms_are_recorded_when_their_templates_and_workflow_complete()
    {
        var wf = await RunAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: metrics-, labels: {team: data}}
            spec:
              entrypoint: main
              metrics:
                prometheus:
                  - name: wf_result
                    help: Workflows by result
                    labels: [{key: status, value: "{{status}}"}, {key: team, value: "{{workflow.labels.team}}"}]
                    counter: {value: "1"}
                  - name: wf_seconds
                    help: Workflow duration
                    gauge: {value: "{{workflow.duration}}"}
              templates:
                - name: main
                  steps:
                    - - {name: pick, template: pick, arguments: {parameters: [{name: n, value: "3"}]}}
                      - {name: pick-again, template: pick, arguments: {parameters: [{name: n, value: "7"}]}}
                    - - {name: flaky, template: flaky, continueOn: {failed: true}}
                - name: pick
                  inputs: {parameters: [{name: n}]}
                  metrics:
                    prometheus:
                      - name: picked
                        help: Values picked
                        when: "{{status}} == Succeeded"
                        histogram: {value: "{{outputs.parameters.value}}", buckets: [2.5, 5, "10"]}
                      - name: picked_total
                        help: Sum of the values picked
                        gauge: {value: "{{inputs.parameters.n}}", operation: Add}
                      - name: never
                        help: Never recorded
                        when: "{{status}} == Failed"
                        counter: {value: "1"}
                  outputs: {parameters: [{name: value, valueFrom: {path: /tmp/v}}]}
                  script: {image: alpine, command: [sh], source: "echo {{inputs.parameters.n}} > /tmp/v"}
                - name: flaky
                  retryStrategy: {limit: "2"}
                  metrics:
                    prometheus:
                      - name: runs_exit_status_counter
                        help: Count of runs by exit code
                        labels: [{key: exit_code, value: "{{exitCode}}"}, {key: status, value: "{{status}}"}]
                        counter: {value: "1"}
                  container: {image: alpine, command: [sh, -c, "exit 1"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);

        var text = await Eventually.Get(async () => await ScrapeAsync() is var t && t.Contains("argo_workflows_wf_result", StringComparison.Ordinal) ? t : null, "the workflow's metrics");
        text.ShouldContain("# HELP argo_workflows_wf_result Workflows by result\n# TYPE argo_workflows_wf_result counter\n");
        Sample(text, """argo_workflows_wf_result{status="Succeeded",team="data"}""").ShouldBe(1);
        Sample(text, "argo_workflows_wf_seconds")!.Value.ShouldBeGreaterThan(0);
        // One observation per pick: 3 and 7.
        text.ShouldContain("# TYPE argo_workflows_picked histogram\n");
        Sample(text, """argo_workflows_picked_bucket{le="2.5"}""").ShouldBe(0);
        Sample(text, """argo_workflows_picked_bucket{le="5"}""").ShouldBe(1);
        Sample(text, """argo_workflows_picked_bucket{le="10"}""").ShouldBe(2);
        Sample(text, """argo_workflows_picked_bucket{le="+Inf"}""").ShouldBe(2);
        Sample(text, "argo_workflows_picked_sum").ShouldBe(10);
        Sample(text, "argo_workflows_picked_count").ShouldBe(2);
        Sample(text, "argo_workflows_picked_total").ShouldBe(10);
        text.ShouldNotContain("argo_workflows_never");
        // Each attempt of the retried step counts once (Argo's e2e: initial attempt + 2 retries).
        Sample(text, """argo_workflows_runs_exit_status_counter{exit_code="1",status="Failed"}""").ShouldBe(3);
        Sample(text, "eventgateway_custom_metric_errors_total").ShouldBe(0);

        // A second run adds to the same series.
        await RunAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: metrics-, labels: {team: data}}
            spec:
              entrypoint: main
              metrics:
                prometheus:
                  - {name: wf_result, help: Workflows by result, labels: [{key: status, value: "{{status}}"}, {key: team, value: "{{workflow.labels.team}}"}], counter: {value: "1"}}
              templates:
                - {name: main, container: {image: alpine, command: ["true"]}}
            """);
        await Eventually.Get(async () => Sample(await ScrapeAsync(), """argo_workflows_wf_result{status="Succeeded",team="data"}""") == 2 ? "" : null, "the counter at 2");
    }

    [Fact]
    public async Task A_realtime_gauge_follows_the_duration_while_running_and_keeps_its_final_value()
    {
        var wf = (Workflow)ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: waiting, namespace: default}
            spec:
              entrypoint: main
              metrics:
                prometheus:
                  - {name: wf_running_seconds, help: Duration so far, gauge: {realtime: true, value: "{{workflow.duration}}"}}
              templates:
                - name: main
                  metrics:
                    prometheus:
                      - {name: node_running_seconds, help: Node duration so far, labels: [{key: name, value: main}], gauge: {realtime: true, value: "{{duration}}"}}
                  suspend: {}
            """).Single();
        await _app.Services.GetRequiredService<WorkflowSubmitter>().SubmitAsync(wf);

        var first = await Eventually.Get(async () => Sample(await ScrapeAsync(), """argo_workflows_node_running_seconds{name="main"}""") is { } v ? (object)v : null, "the realtime gauge");
        // It moves while the node runs, with no new event from the workflow.
        await Eventually.Get(async () => Sample(await ScrapeAsync(), """argo_workflows_node_running_seconds{name="main"}""") > (double)first ? "" : null, "the gauge to grow");
        Sample(await ScrapeAsync(), "argo_workflows_wf_running_seconds")!.Value.ShouldBeGreaterThan(0);

        await _app.Services.GetRequiredService<WorkflowControls>().ResumeAsync("default", "waiting");
        await Eventually.Get(async () => await _app.Services.GetRequiredService<IResourceStore>().GetAsync<Workflow>("default", "waiting") is { Status.IsCompleted: true } d ? d : null, "completed");
        var final = await Eventually.Get(async () =>
        {
            var a = await ScrapeAsync();
            var b = await ScrapeAsync();
            var x = Sample(a, "argo_workflows_wf_running_seconds");
            return x is not null && x == Sample(b, "argo_workflows_wf_running_seconds") ? (object)x : null;
        }, "the workflow gauge to stop");
        ((double)final).ShouldBeGreaterThan(0);
    }

    [Theory]
    [InlineData("{name: bad-name, help: h, counter: {value: '1'}}", "spec.metrics.prometheus[0].name: 'bad-name' is not a valid metric name")]
    [InlineData("{name: ok, counter: {value: '1'}}", "spec.metrics.prometheus[0].help: missing: metric 'ok' needs a help string")]
    [InlineData("{name: ok, help: h}", "spec.metrics.prometheus[0]: missing: one of gauge, counter or histogram")]
    [InlineData("{name: ok, help: h, counter: {value: '1'}, gauge: {value: '1'}}", "spec.metrics.prometheus[0]: one kind per metric, found gauge and counter")]
    [InlineData("{name: ok, help: h, gauge: {realtime: true, value: '{{status}}'}}", "spec.metrics.prometheus[0].gauge.value: '{{status}}' cannot be a realtime value: use {{workflow.duration}}")]
    [InlineData("{name: ok, help: h, gauge: {value: '1', operation: Mul}}", "spec.metrics.prometheus[0].gauge.operation: 'Mul' is not one of Set, Add, Sub")]
    [InlineData("{name: ok, help: h, histogram: {value: '1', buckets: [1, many]}}", "spec.metrics.prometheus[0].histogram.buckets[1]: 'many' is not a number")]
    [InlineData("{name: ok, help: h, histogram: {value: '1'}}", "spec.metrics.prometheus[0].histogram.buckets: missing")]
    [InlineData("{name: ok, help: h, labels: [{key: 'a-b', value: x}], counter: {value: '1'}}", "spec.metrics.prometheus[0].labels[0].key: 'a-b' is not a valid label key")]
    [InlineData("{name: ok, help: h, counter: {value: ''}}", "spec.metrics.prometheus[0].counter.value: missing")]
    [InlineData("{name: ok, help: h, counter: {value: '1'}, summary: {}}", "spec.metrics.prometheus[0].summary: unknown field")]
    public void Invalid_definitions_are_refused_at_load_with_the_field(string metric, string expected)
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: m-}
            spec:
              entrypoint: main
              metrics: {prometheus: [{{{metric}}}]}
              templates: [{name: main, container: {image: alpine, command: ["true"]}}]
            """));
        e.Message.ShouldContain(expected);
    }

    [Fact]
    public void One_name_has_one_type_across_the_workflow()
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: m-}
            spec:
              entrypoint: main
              metrics: {prometheus: [{name: runs, help: h, counter: {value: "1"}}]}
              templates:
                - name: main
                  metrics: {prometheus: [{name: runs, help: h, gauge: {value: "1"}}]}
                  container: {image: alpine, command: ["true"]}
            """));
        e.Message.ShouldContain("spec.templates[0].metrics.prometheus[0].gauge: metric 'runs' is a counter at spec.metrics.prometheus[0]");
    }
}

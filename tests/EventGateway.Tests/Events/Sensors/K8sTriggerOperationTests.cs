using System.Net;
using System.Text;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>
/// The k8s trigger's update, patch and delete against the embedded store, end to end: a webhook event reaches a
/// Sensor, its trigger fires, and the stored object changes as Argo Events would change it in a cluster.
/// </summary>
public sealed class K8sTriggerOperationTests : IAsyncLifetime
{
    private EventTestHost _host = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _port = EventTestHost.FreePort();
        _host = await EventTestHost.StartAsync(pipeline: true);
        await _host.ApplyAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hooks, namespace: ops}
            spec:
              webhook:
                change: {port: "{{_port}}", endpoint: /change, method: POST}
            """);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string Sensor(string k8s, string name = "apply") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: {{name}}, namespace: ops}
        spec:
          dependencies:
            - {name: change, eventSourceName: hooks, eventName: change}
          triggers:
            - template:
                name: act
                k8s:
        {{string.Join('\n', k8s.Split('\n').Select(l => "          " + l))}}
        """;

    /// <summary>Posts the event and returns the trigger's recorded decision for it.</summary>
    private async Task<Decision> FireAsync(string json)
    {
        var before = (await _host.Log.QueryAsync(new EventGateway.Events.Log.EventQuery(Source: "hooks", Limit: 10_000))).Count;
        using (var http = new HttpClient())
        using (var resp = await http.PostAsync($"http://127.0.0.1:{_port}/change", new StringContent(json, Encoding.UTF8, "application/json")))
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        var logged = (await _host.WaitForEventsAsync("hooks", before + 1))[^1];
        // A failed firing is also dead-lettered right after; the firing's own decision is the one to look at.
        return await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([logged.Sequence])
                .Where(d => d.Trigger == "act").OrderBy(d => d.Outcome == Outcomes.DeadLettered).FirstOrDefault()),
            "the trigger's decision");
    }

    private Task<ConfigMap?> Settings() => _host.Store.GetAsync<ConfigMap>("ops", "settings");

    private async Task StoreSettingsAsync() => await _host.ApplyAsync("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings, namespace: ops, labels: {team: infra}}
        data: {color: blue, size: large}
        """);

    [Fact]
    public async Task Patch_merges_the_event_into_the_stored_object_and_a_null_removes_a_key()
    {
        await StoreSettingsAsync();
        await _host.ApplyAsync(Sensor("""
            operation: patch
            source:
              resource:
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: settings}
                data: {color: "", size: null}
            parameters:
              - src: {dependencyName: change, dataKey: body.color}
                dest: data.color
            """));

        var d = await FireAsync("""{"color":"green"}""");
        d.Outcome.ShouldBe(Outcomes.Triggered, d.Reason);
        d.Reason!.ShouldContain("ConfigMap ops/settings patched");
        var cm = (await Settings())!;
        cm.Data.ShouldBe(new Dictionary<string, string> { ["color"] = "green" });
        cm.Metadata.Labels!["team"].ShouldBe("infra");
    }

    [Fact]
    public async Task Patch_suspends_a_CronWorkflow_and_keeps_the_rest_of_its_spec()
    {
        await _host.ApplyAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata: {name: nightly, namespace: ops}
            spec:
              schedules: ["0 2 * * *"]
              workflowSpec:
                entrypoint: main
                templates: [{name: main, container: {image: alpine, command: ["true"]}}]
            """);
        await _host.ApplyAsync(Sensor("""
            operation: patch
            patchStrategy: application/merge-patch+json
            source:
              resource:
                apiVersion: argoproj.io/v1alpha1
                kind: CronWorkflow
                metadata: {name: nightly}
                spec: {suspend: true}
            """));

        var d = await FireAsync("{}");
        d.Outcome.ShouldBe(Outcomes.Triggered, d.Reason);
        var cron = (await _host.Store.GetAsync<CronWorkflow>("ops", "nightly"))!;
        cron.Spec.Suspend.ShouldBe(true);
        cron.Spec.Schedules.ShouldBe(["0 2 * * *"]);
    }

    [Fact]
    public async Task Update_writes_the_source_over_the_stored_object_and_creates_it_when_missing()
    {
        await _host.ApplyAsync(Sensor("""
            operation: update
            source:
              resource:
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: settings, labels: {owner: sensor}}
                data: {color: ""}
            parameters:
              - src: {dependencyName: change, dataKey: body.color}
                dest: data.color
            """));

        // Not there yet: update creates it, as Argo does.
        (await FireAsync("""{"color":"red"}""")).Outcome.ShouldBe(Outcomes.Triggered);
        (await Settings())!.Data.ShouldBe(new Dictionary<string, string> { ["color"] = "red" });

        // There now, with a key and a label of its own: the source's fields win, the rest stays.
        var cm = (await Settings())!;
        cm.Data!["size"] = "small";
        cm.Metadata.Labels!["team"] = "infra";
        await _host.Store.UpdateAsync(cm);
        var d = await FireAsync("""{"color":"yellow"}""");
        d.Reason!.ShouldContain("ConfigMap ops/settings updated");
        cm = (await Settings())!;
        cm.Data.ShouldBe(new Dictionary<string, string> { ["color"] = "yellow", ["size"] = "small" });
        cm.Metadata.Labels!["owner"].ShouldBe("sensor");
        cm.Metadata.Labels["team"].ShouldBe("infra");
    }

    [Fact]
    public async Task Update_of_the_live_object_applies_the_parameters_to_what_is_stored()
    {
        await StoreSettingsAsync();
        await _host.ApplyAsync(Sensor("""
            operation: update
            liveObject: true
            source:
              resource:
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: settings}
            parameters:
              - src: {dependencyName: change, dataKey: body.size}
                dest: data.size
            """));

        (await FireAsync("""{"size":"tiny"}""")).Outcome.ShouldBe(Outcomes.Triggered);
        (await Settings())!.Data.ShouldBe(new Dictionary<string, string> { ["color"] = "blue", ["size"] = "tiny" });
    }

    [Fact]
    public async Task Delete_removes_the_named_object_and_a_missing_one_is_nothing_to_do()
    {
        await StoreSettingsAsync();
        await _host.ApplyAsync(Sensor("""
            operation: delete
            source:
              resource:
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: placeholder}
            parameters:
              - src: {dependencyName: change, dataKey: body.name}
                dest: metadata.name
            """));

        (await FireAsync("""{"name":"settings"}""")).Reason!.ShouldContain("ConfigMap ops/settings deleted");
        (await Settings()).ShouldBeNull();
        var again = await FireAsync("""{"name":"settings"}""");
        again.Outcome.ShouldBe(Outcomes.Triggered);
        again.Reason!.ShouldContain("not found, nothing to delete");
    }

    [Fact]
    public async Task Delete_of_a_workflow_removes_it_from_the_store()
    {
        await _host.ApplyAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: old-run, namespace: ops}
            spec:
              entrypoint: main
              templates: [{name: main, container: {image: alpine, command: ["true"]}}]
            """);
        await _host.WaitWorkflowsCompletedAsync(1);
        await _host.ApplyAsync(Sensor("""
            operation: delete
            source:
              resource: {apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {name: old-run}}
            """));

        (await FireAsync("{}")).Reason!.ShouldContain("Workflow ops/old-run deleted");
        (await _host.Store.GetAsync<Workflow>("ops", "old-run")).ShouldBeNull();
    }

    [Fact]
    public async Task A_source_in_another_namespace_fails_the_firing_and_changes_nothing()
    {
        await StoreSettingsAsync();
        await _host.ApplyAsync(Sensor("""
            operation: delete
            source:
              resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}}
            parameters:
              - src: {dependencyName: change, dataKey: body.ns}
                dest: metadata.namespace
            """));

        var d = await FireAsync("""{"ns":"kube-system"}""");
        d.Outcome.ShouldBe(Outcomes.Failed);
        d.Reason!.ShouldContain("source.metadata.namespace 'kube-system' is refused: a Sensor acts only in its own namespace 'ops'");
        (await Settings()).ShouldNotBeNull();
    }

    [Theory]
    [InlineData("operation: patch\npatchStrategy: application/json-patch+json\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.patchStrategy: a JSON patch is a list of operations, but a k8s trigger's source is an object")]
    [InlineData("operation: patch\npatchStrategy: application/apply-patch+yaml\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.patchStrategy: server-side apply is not supported here")]
    [InlineData("operation: patch\npatchStrategy: application/strategic-merge-patch+json\nsource: {resource: {apiVersion: argoproj.io/v1alpha1, kind: CronWorkflow, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.patchStrategy: strategic merge patch is not supported for custom resources such as CronWorkflow")]
    [InlineData("operation: create\npatchStrategy: application/merge-patch+json\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.patchStrategy: applies only to operation patch, not create")]
    [InlineData("operation: patch\nliveObject: true\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.liveObject: applies only to operation update (as in Argo), not patch")]
    [InlineData("operation: update\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {generateName: a-}}}",
        "spec.triggers[0].template.k8s.source.resource.metadata.name: missing: update acts on an existing object")]
    [InlineData("operation: delete\nsource: {resource: {apiVersion: v1, kind: Secret, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.source.resource.kind: Secrets are not changed by triggers here")]
    [InlineData("operation: replace\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.operation: 'replace' is not one of create, update, patch, delete")]
    [InlineData("operation: patch\npatchStrategy: merge\nsource: {resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}}",
        "spec.triggers[0].template.k8s.patchStrategy: 'merge' is not a patch type")]
    public void What_cannot_be_done_is_refused_at_load_with_the_field(string k8s, string expected)
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read(Sensor(k8s)));
        e.Message.ShouldContain(expected);
    }
}

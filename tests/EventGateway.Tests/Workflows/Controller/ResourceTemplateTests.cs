using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>resource templates through the real engine, acting on objects of its SQLite store.</summary>
public sealed class ResourceTemplateTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Output(NodeStatus node, string name) =>
        node.Outputs?.Parameters?.SingleOrDefault(p => p.Name == name)?.Value ?? throw new Xunit.Sdk.XunitException($"{node.DisplayName} has no output {name}");

    private static Task<Workflow> Submit(TestEngine t, string yaml)
    {
        var wf = ManifestReader.Read(yaml).OfType<Workflow>().Single();
        return t.Engine.SubmitAsync(wf).ContinueWith(s => t.Engine.WaitAsync(s.Result, new CancellationTokenSource(TestEngine.Patience).Token)).Unwrap();
    }

    private static Task<NodeStatus> RunningNode(TestEngine t, string workflow, string displayName) =>
        Eventually.Get(async () => (await t.Engine.Store.GetAsync<Workflow>("default", workflow))?.Status?.Nodes?.Values
            .FirstOrDefault(n => n.DisplayName == displayName && n.Phase == NodePhase.Running), $"{displayName} running");

    [Fact]
    public async Task The_seed_example_creates_its_ConfigMap_and_waits_for_a_status_a_ConfigMap_never_gets()
    {
        // The advanced seed's resource template, verbatim but for a workflow deadline: a ConfigMap has no
        // status, so neither condition ever holds and the node waits (as in Argo) until the deadline ends it.
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var run = Submit(t, """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: seed}
            spec:
              entrypoint: create-configmap
              activeDeadlineSeconds: 60
              templates:
              - name: create-configmap
                resource:
                  action: create # create | patch | apply | delete | get
                  manifest: |
                    apiVersion: v1
                    kind: ConfigMap
                    metadata:
                      name: output-{{workflow.name}}
                    data:
                      result: "done"
                  successCondition: "status.phase == Active"
                  failureCondition: "status.phase == Failed"
            """);
        var cm = await Eventually.Get(() => t.Engine.Store.GetAsync<ConfigMap>("default", "output-seed"), "the ConfigMap output-seed");
        cm.Data.ShouldBe(new Dictionary<string, string> { ["result"] = "done" });
        time.Advance(TimeSpan.FromSeconds(59));
        run.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromSeconds(2));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "seed").Phase.ShouldBe(NodePhase.Failed);
    }

    [Fact]
    public async Task Create_patch_json_patch_apply_get_and_delete_a_ConfigMap_with_outputs_from_jsonPath_and_jq()
    {
        await using var t = await TestEngine.StartAsync();
        const string target = """
                    apiVersion: v1
                    kind: ConfigMap
                    metadata: {name: "cfg-{{workflow.name}}"}
            """;
        var wf = await t.RunYamlAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: crud}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: create, template: create}
                - - {name: merge, template: merge}
                - - {name: json, template: json}
                - - {name: apply, template: apply}
                - - {name: get, template: get}
                - - {name: delete, template: delete}
                - - {name: gone, template: get, continueOn: {failed: true}}
              - name: create
                resource:
                  action: create
                  setOwnerReference: true
                  manifest: |
                    apiVersion: v1
                    kind: ConfigMap
                    metadata:
                      name: cfg-{{workflow.name}}
                      labels: {tier: web}
                    data: {a: "1"}
                outputs:
                  parameters:
                  - {name: name, valueFrom: {jsonPath: "{.metadata.name}"}}
                  - {name: owner, valueFrom: {jqFilter: ".metadata.ownerReferences[0].name"}}
              - name: merge
                resource:
                  action: patch
                  mergeStrategy: merge
                  manifest: |
            {{{target}}}
                    data: {b: "2"}
              - name: json
                resource:
                  action: patch
                  mergeStrategy: json
                  flags: [configmap, "cfg-{{workflow.name}}"]
                  manifest: |
                    - {op: replace, path: /data/a, value: "10"}
                    - {op: remove, path: /metadata/labels/tier}
              - name: apply
                resource:
                  action: apply
                  manifest: |
            {{{target}}}
                    data: {c: "3"}
              - name: get
                resource:
                  action: get
                  manifest: |
            {{{target}}}
                outputs:
                  parameters:
                  - {name: data, valueFrom: {jqFilter: ".data"}}
                  - {name: a, valueFrom: {jsonPath: "{.data.a}"}}
                  - {name: labels, valueFrom: {jqFilter: ".metadata.labels | length"}}
              - name: delete
                resource:
                  action: delete
                  manifest: |
            {{{target}}}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var created = TestEngine.Node(wf, "create");
        Output(created, "name").ShouldBe("cfg-crud");
        Output(created, "owner").ShouldBe("crud");
        var got = TestEngine.Node(wf, "get");
        Output(got, "data").ShouldBe("""{"a":"10","b":"2","c":"3"}""");
        Output(got, "a").ShouldBe("10");
        Output(got, "labels").ShouldBe("0");
        var gone = TestEngine.Node(wf, "gone");
        gone.Phase.ShouldBe(NodePhase.Failed);
        gone.Message.ShouldBe("ConfigMap default/cfg-crud not found");
        (await t.Engine.Store.GetAsync<ConfigMap>("default", "cfg-crud")).ShouldBeNull();
    }

    private static string Gate(string name) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}} }
        spec:
          entrypoint: wait
          templates:
          - name: wait
            resource:
              action: get
              manifest: |
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: {{name}} }
              successCondition: data.state == ready, data.count > 2
              failureCondition: data.state in (broken, lost)
            outputs:
              parameters:
              - {name: count, valueFrom: {jsonPath: "{.data.count}"} }
        """;

    private static async Task SetGate(TestEngine t, string name, string state, string count)
    {
        var cm = await t.Engine.Store.GetAsync<ConfigMap>("default", name) ?? new ConfigMap { Kind = "ConfigMap", ApiVersion = "v1", Metadata = new() { Name = name, Namespace = "default" } };
        cm.Data = new() { ["state"] = state, ["count"] = count };
        await t.Engine.Store.ApplyAsync(cm);
    }

    [Fact]
    public async Task Conditions_are_checked_again_on_every_change_of_the_object_until_the_success_condition_holds()
    {
        await using var t = await TestEngine.StartAsync();
        await SetGate(t, "gate", "starting", "0");
        var run = Submit(t, Gate("gate"));
        await RunningNode(t, "gate", "gate");
        await SetGate(t, "gate", "ready", "1"); // half of the condition: still waiting
        await SetGate(t, "gate", "starting", "3");
        await SetGate(t, "gate", "ready", "3");
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        Output(TestEngine.Node(wf, "gate"), "count").ShouldBe("3");
    }

    [Theory]
    [InlineData("name: made")]
    [InlineData("generateName: made-")]
    public async Task A_create_that_ran_before_a_restart_is_taken_up_again_not_repeated(string naming)
    {
        var t1 = await TestEngine.StartAsync();
        var dataDir = t1.DataDir;
        var wf = ManifestReader.Read($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: maker}
            spec:
              entrypoint: make
              activeDeadlineSeconds: 60
              templates:
              - name: make
                resource:
                  action: create
                  manifest: |
                    apiVersion: v1
                    kind: ConfigMap
                    metadata: { {{{naming}}} }
                    data: {state: starting}
                  successCondition: data.state == ready
                outputs:
                  parameters:
                  - {name: made, valueFrom: {jsonPath: "{.metadata.name}"}}
            """).OfType<Workflow>().Single();
        var submitted = await t1.Engine.SubmitAsync(wf);
        await RunningNode(t1, "maker", "maker");
        var first = await Eventually.Get(async () => (await t1.Engine.Store.ListAsync<ConfigMap>("default")).SingleOrDefault(c => c.Name.StartsWith("made", StringComparison.Ordinal)), "the created ConfigMap");
        await t1.Engine.DisposeAsync(); // the service stops while the node waits on its object

        await using var t2 = await TestEngine.StartAsync(dataDir: dataDir);
        var run = t2.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token);
        first.Data!["state"] = "ready";
        await t2.Engine.Store.ApplyAsync(first);
        var done = await run;
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done.Status.Message);
        Output(TestEngine.Node(done, "maker"), "made").ShouldBe(first.Name);
        (await t2.Engine.Store.ListAsync<ConfigMap>("default")).Count(c => c.Name.StartsWith("made", StringComparison.Ordinal)).ShouldBe(1, "the second run made no second object");
    }

    [Fact]
    public async Task A_matching_failure_condition_fails_the_node_and_says_which_requirement_matched()
    {
        await using var t = await TestEngine.StartAsync();
        await SetGate(t, "gate2", "starting", "0");
        var run = Submit(t, Gate("gate2"));
        await RunningNode(t, "gate2", "gate2");
        await SetGate(t, "gate2", "lost", "5");
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "gate2").Message.ShouldBe("failure condition 'data.state in (broken, lost)' evaluated true");
    }

    [Fact]
    public async Task A_deleted_object_ends_the_wait_with_a_failure()
    {
        await using var t = await TestEngine.StartAsync();
        await SetGate(t, "gate3", "starting", "0");
        var run = Submit(t, Gate("gate3"));
        await RunningNode(t, "gate3", "gate3");
        await t.Engine.Store.DeleteAsync<ConfigMap>("default", "gate3");
        var node = TestEngine.Node(await run, "gate3");
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("ConfigMap default/gate3 was deleted while its conditions were being checked");
    }

    [Fact]
    public async Task The_templates_activeDeadlineSeconds_ends_a_wait_that_never_succeeds()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        await SetGate(t, "gate4", "starting", "0");
        var run = Submit(t, Gate("gate4").Replace("  - name: wait\n", "  - name: wait\n    activeDeadlineSeconds: 30\n"));
        // The clock moves a second per poll until the run ends: only the deadline can end it.
        var wf = await Eventually.Get(() => Task.FromResult(run.IsCompleted ? run.Result : null), "the deadline", eachPoll: () => time.Advance(TimeSpan.FromSeconds(1)));
        var node = TestEngine.Node(wf, "gate4");
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("Step exceeded its deadline");
        (node.FinishedAt - node.StartedAt).ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_Workflow_created_by_a_resource_template_is_submitted_like_any_other_and_awaited()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: parent}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: child, template: child}
                - - {name: refused, template: refused, continueOn: {failed: true}}
              - name: child
                resource:
                  action: create
                  setOwnerReference: true
                  successCondition: status.phase == Succeeded
                  failureCondition: status.phase in (Failed, Error)
                  manifest: |
                    apiVersion: argoproj.io/v1alpha1
                    kind: Workflow
                    metadata: {generateName: child-}
                    spec:
                      entrypoint: hello
                      templates:
                      - name: hello
                        container: {image: busybox, command: [echo, hi]}
                outputs:
                  parameters:
                  - {name: name, valueFrom: {jsonPath: "{.metadata.name}"}}
                  - {name: phase, valueFrom: {jsonPath: "{.status.phase}"}}
              - name: refused
                resource:
                  action: create
                  manifest: |
                    apiVersion: argoproj.io/v1alpha1
                    kind: Workflow
                    metadata: {name: orphan}
                    spec:
                      workflowTemplateRef: {name: nowhere}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var child = TestEngine.Node(wf, "child");
        Output(child, "phase").ShouldBe(WorkflowPhase.Succeeded);
        var stored = await t.Engine.Store.GetAsync<Workflow>("default", Output(child, "name"));
        stored!.Name.ShouldStartWith("child-");
        stored.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        stored.Metadata.OwnerReferences!.Single()!["name"]!.GetValue<string>().ShouldBe("parent");
        var refused = TestEngine.Node(wf, "refused");
        refused.Phase.ShouldBe(NodePhase.Failed);
        refused.Message!.ShouldContain("spec.workflowTemplateRef.name: WorkflowTemplate 'nowhere' not found");
        (await t.Engine.Store.GetAsync<Workflow>("default", "orphan")).ShouldBeNull();
    }

    [Fact]
    public void Obviously_bad_resource_templates_are_refused_at_load_with_field_paths()
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: bad}
            spec:
              entrypoint: a
              templates:
              - name: a
                resource:
                  action: upsert
                  mergeStrategy: theirs
                  manifest: |
                    apiVersion: apps/v1
                    kind: Deployment
                    metadata: {name: web}
                  successCondition: "status.replicas >> 2"
                outputs:
                  parameters:
                  - {name: x, valueFrom: {path: /tmp/x}}
              - name: b
                resource:
                  action: patch
                  manifest: |
                    - {op: add, path: /data/x, value: "1"}
              - name: c
                resource: {action: get, flags: [--all-namespaces]}
            """));
        var errors = e.Errors.ToDictionary(x => x.Path, x => x.Reason);
        errors["spec.templates[0].resource.action"].ShouldBe("'upsert' is not one of create, apply, replace, patch, delete, get");
        errors["spec.templates[0].resource.mergeStrategy"].ShouldBe("'theirs' is not one of strategic, merge, json");
        errors["spec.templates[0].resource.manifest"].ShouldStartWith("kind 'Deployment' is not kept by the embedded store; resource templates act on ClusterWorkflowTemplate, ConfigMap,");
        errors["spec.templates[0].resource.successCondition"].ShouldContain("status.replicas >> 2");
        errors["spec.templates[0].outputs.parameters[0].valueFrom.path"].ShouldBe("a resource template has no files: read the object with jsonPath or jqFilter");
        errors["spec.templates[1].resource.manifest"].ShouldBe("a list is a JSON patch: set mergeStrategy: json and action: patch");
        errors["spec.templates[2].resource.manifest"].ShouldBe("missing: the object to act on");
        errors["spec.templates[2].resource.flags"].ShouldBe("kubectl arguments are not understood here; flags only name a JSON patch's target: [KIND, NAME]");
        errors.Count.ShouldBe(8);
    }
}

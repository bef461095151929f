using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using static EventGateway.Tests.Cli.CliTests;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Workflows.Schedules;

/// <summary>`egw cron`, `egw template`, `egw submit --from` against a real `egw serve`, and `egw run --from` in process.</summary>
public sealed class CronCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-cron-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>The primer seed's pre-4.0 shape (singular schedule), with steps this host can run.</summary>
    private const string NightlyEtl = """
        apiVersion: argoproj.io/v1alpha1
        kind: CronWorkflow
        metadata:
          name: nightly-etl
        spec:
          schedule: "0 2 * * *"    # 2am UTC daily
          timezone: "UTC"
          concurrencyPolicy: Forbid
          startingDeadlineSeconds: 300
          workflowSpec:
            entrypoint: etl-pipeline
            arguments: {parameters: [{name: table, value: orders}]}
            templates:
              - name: etl-pipeline
                dag:
                  tasks:
                    - {name: extract, template: step, arguments: {parameters: [{name: what, value: "extract {{workflow.parameters.table}}"}]}}
                    - {name: load, dependencies: [extract], template: step, arguments: {parameters: [{name: what, value: load}]}}
              - name: step
                inputs: {parameters: [{name: what}]}
                container: {image: busybox, command: [echo, "{{inputs.parameters.what}}"]}
        """;

    [Fact]
    public async Task Cron_commands_create_list_get_suspend_resume_submit_from_and_delete()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var file = Write("cron.yaml", NightlyEtl);

        var created = await Egw("cron", "create", file, "--server", server);
        created.Code.ShouldBe(0, created.Err);
        created.Out.ShouldContain("cronworkflow/nightly-etl created");
        created.Err.ShouldContain("warning:");
        created.Err.ShouldContain("converted to spec.schedules");

        var list = await Egw("cron", "list", "--server", server);
        list.Code.ShouldBe(0, list.Err);
        var lines = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldStartWith("NAME");
        lines[0].ShouldContain("LAST RUN");
        lines[0].ShouldContain("NEXT RUN");
        lines[0].ShouldContain("SCHEDULES");
        lines[1].ShouldStartWith("nightly-etl");
        lines[1].ShouldContain("0 2 * * *");
        lines[1].ShouldContain("UTC");
        lines[1].ShouldContain("false");
        var listJson = JsonNode.Parse((await Egw("cron", "list", "--server", server, "-o", "json")).Out)!.AsArray();
        listJson.Single()!["spec"]!["schedules"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["0 2 * * *"]);

        (await Egw("cron", "suspend", "nightly-etl", "--server", server)).Code.ShouldBe(0);
        (await Egw("cron", "get", "nightly-etl", "--server", server)).Out.ShouldContain("Suspended:                     true");
        JsonNode.Parse((await Egw("cron", "get", "nightly-etl", "--server", server, "-o", "json")).Out)!["spec"]!["suspend"]!.GetValue<bool>().ShouldBeTrue();
        (await Egw("cron", "resume", "nightly-etl", "--server", server)).Code.ShouldBe(0);
        var get = await Egw("cron", "get", "nightly-etl", "--server", server);
        get.Out.ShouldContain("Suspended:                     false");
        get.Out.ShouldContain("NextScheduledTime:");

        var run = await Egw("submit", "--from", "cronwf/nightly-etl", "-p", "table=users", "--wait", "-o", "json", "--server", server);
        run.Code.ShouldBe(0, run.Err);
        var wf = JsonSerializer.Deserialize<Workflow>(run.Out, Json.Lenient)!;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        wf.Name.ShouldStartWith("nightly-etl-");
        wf.Metadata.Labels!["workflows.argoproj.io/cron-workflow"].ShouldBe("nightly-etl");
        wf.Status.Nodes!.Values.Single(n => n.DisplayName == "extract").Outputs!.Result.ShouldBe("extract users");

        var missing = await Egw("submit", "--from", "cronwf/nope", "--server", server);
        missing.Code.ShouldBe(1);
        missing.Err.ShouldContain("CronWorkflow 'nope' not found in namespace 'default'");
        var badKind = await Egw("submit", "--from", "pod/x", "--server", server);
        badKind.Code.ShouldBe(2);
        badKind.Err.ShouldContain("kind 'pod' is not one of cronwf, workflowtemplate, clusterworkflowtemplate");

        (await Egw("cron", "delete", "nightly-etl", "--server", server)).Code.ShouldBe(0);
        (await Egw("cron", "get", "nightly-etl", "--server", server)).Code.ShouldBe(1);
    }

    [Fact]
    public async Task An_applied_singular_schedule_is_warned_about_by_apply_and_by_the_server()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var apply = await Egw("apply", "-f", Write("cron.yaml", NightlyEtl), "--server", server);
        apply.Code.ShouldBe(0, apply.Err);
        apply.Err.ShouldContain("CronWorkflow/nightly-etl: spec.schedule is the pre-4.0 form and was converted to spec.schedules");

        var condition = await Eventually.Get(async () =>
        {
            var cron = JsonNode.Parse((await Egw("cron", "get", "nightly-etl", "--server", server, "-o", "json")).Out);
            return (cron?["status"]?["conditions"] as JsonArray)?.FirstOrDefault(c => c?["type"]?.GetValue<string>() == "SpecWarning");
        }, "the scheduler's SpecWarning condition");
        condition["message"]!.GetValue<string>().ShouldContain("write `schedules:`");

        var lint = await Egw("lint", Write("lint.yaml", NightlyEtl));
        lint.Code.ShouldBe(0, lint.Err);
        lint.Err.ShouldContain("converted to spec.schedules");
    }

    [Fact]
    public async Task Template_commands_and_submit_from_a_workflow_template()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var file = Write("t.yaml", """
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: greet}
            spec:
              entrypoint: main
              arguments: {parameters: [{name: who, value: nobody}]}
              templates:
              - name: main
                container: {image: busybox, command: [echo, "hi {{workflow.parameters.who}}"]}
            """);
        (await Egw("template", "create", file, "--server", server)).Out.ShouldContain("workflowtemplate/greet created");
        var again = await Egw("template", "create", file, "--server", server);
        again.Code.ShouldBe(1);
        again.Err.ShouldContain("already exists");

        var list = await Egw("template", "list", "--server", server);
        list.Out.ShouldContain("ENTRYPOINT");
        list.Out.Split('\n')[1].ShouldStartWith("greet");
        (await Egw("template", "get", "greet", "--server", server)).Out.ShouldContain("Arguments:     who=nobody");

        var run = await Egw("submit", "--from", "workflowtemplate/greet", "-p", "who=cli", "--wait", "-o", "json", "--server", server);
        run.Code.ShouldBe(0, run.Err);
        var wf = JsonSerializer.Deserialize<Workflow>(run.Out, Json.Lenient)!;
        wf.Metadata.Labels!["workflows.argoproj.io/workflow-template"].ShouldBe("greet");
        wf.Status!.Nodes!.Values.Single().Outputs!.Result.ShouldBe("hi cli");

        (await Egw("template", "delete", "greet", "--server", server)).Code.ShouldBe(0);
        (await Egw("template", "get", "greet", "--server", server)).Code.ShouldBe(1);
    }

    [Fact]
    public async Task Cluster_template_commands_and_a_workflow_referencing_one_with_cluster_scope()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var file = Write("ct.yaml", """
            apiVersion: argoproj.io/v1alpha1
            kind: ClusterWorkflowTemplate
            metadata: {name: org-standard-ci}
            spec:
              templates:
              - name: security-scan
                inputs: {parameters: [{name: image}]}
                container: {image: busybox, command: [echo, "scanned {{inputs.parameters.image}}"]}
            """);
        (await Egw("cluster-template", "create", file, "--server", server)).Out.ShouldContain("clusterworkflowtemplate/org-standard-ci created");
        var list = await Egw("cluster-template", "list", "--server", server);
        list.Code.ShouldBe(0, list.Err);
        list.Out.Split('\n')[1].ShouldStartWith("org-standard-ci");
        var get = await Egw("cluster-template", "get", "org-standard-ci", "-o", "json", "--server", server);
        get.Code.ShouldBe(0, get.Err);
        JsonNode.Parse(get.Out)!["metadata"]!["namespace"].ShouldBeNull("cluster-scoped: no namespace");
        (await Egw("cluster-template", "list", "-n", "x", "--server", server)).Code.ShouldNotBe(0, "a cluster-scoped kind takes no namespace");

        // The seed's DAG task referencing it with clusterScope: true.
        var wf = Write("scan.yaml", """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: scan-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: scan
                    templateRef: {name: org-standard-ci, template: security-scan, clusterScope: true}
                    arguments: {parameters: [{name: image, value: "myapp:v1.35.0"}]}
            """);
        var run = await Egw("submit", wf, "--wait", "-o", "json", "--server", server);
        run.Code.ShouldBe(0, run.Err);
        var done = JsonSerializer.Deserialize<Workflow>(run.Out, Json.Lenient)!;
        done.Status!.Nodes!.Values.Single(n => n.DisplayName == "scan").Outputs!.Result.ShouldBe("scanned myapp:v1.35.0");

        (await Egw("cluster-template", "delete", "org-standard-ci", "--server", server)).Code.ShouldBe(0);
        (await Egw("cluster-template", "get", "org-standard-ci", "--server", server)).Code.ShouldBe(1);
    }

    [Fact]
    public async Task Run_from_a_cron_workflow_in_the_files_runs_its_workflow_spec_once()
    {
        var (code, stdout, stderr) = await Egw("run", Write("cron.yaml", NightlyEtl), "--from", "cronwf/nightly-etl", "-o", "json");
        code.ShouldBe(0, stderr);
        stderr.ShouldContain("converted to spec.schedules");
        stderr.ShouldContain("extract orders");
        var wf = JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        wf.Metadata.Labels!["workflows.argoproj.io/cron-workflow"].ShouldBe("nightly-etl");
        wf.Status.Nodes!.Values.Where(n => n.DisplayName is "extract" or "load").Select(n => n.Phase).ShouldBe([NodePhase.Succeeded, NodePhase.Succeeded], ignoreOrder: true);
    }

    [Fact]
    public async Task Run_from_the_seed_cron_workflow_gives_argos_phases()
    {
        // The advanced seed's nightly-etl: its image's `python run.py` has no run.py here, so extract fails as in Argo.
        var seed = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Seeds", "39-s4-nightly-etl-cron.yaml");
        var (code, stdout, stderr) = await Egw("run", seed, "--from", "cronwf/nightly-etl", "-o", "json", "-q");
        code.ShouldBe(1, stderr);
        var wf = JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "extract").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(wf, "load").Phase.ShouldBe(NodePhase.Omitted);
    }
}

using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>Lifecycle hooks (running, exit, named hooks with an expression) through the real engine and real step processes.</summary>
public sealed class HooksTests
{
    private static NodeStatus? Named(Workflow wf, string name) => wf.Status!.Nodes!.Values.SingleOrDefault(n => n.Name == name);

    // The seed's deploy step, as the seed writes it: hooks on the template, the exit hook only when deploy failed.
    private const string SeedDeploy = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: deploy-}
        spec:
          entrypoint: main
          arguments: {parameters: [{name: code, value: "0"}]}
          templates:
          - name: main
            steps:
            - - {name: deploy, template: deploy}
          - name: deploy
            hooks:
              running:
                template: log-start
              exit:
                template: log-completion
                expression: "steps['deploy'].status == 'Failed'"
            container: {image: busybox, command: [sh, -c, "echo deploying; exit {{workflow.parameters.code}}"]}
          - name: log-start
            container: {image: busybox, command: [sh, -c, "echo audit deploy started"]}
          - name: log-completion
            container: {image: busybox, command: [sh, -c, "echo audit deploy finished with {{workflow.status}}"]}
        """;

    [Fact]
    public async Task The_seed_deploy_step_runs_its_running_hook_and_its_exit_hook_only_when_it_failed()
    {
        await using var t = await TestEngine.StartAsync();

        var ok = await t.RunYamlAsync(SeedDeploy);
        ok.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, ok.Status.Message);
        var started = TestEngine.Node(ok, "deploy.hooks.running");
        started.Phase.ShouldBe(NodePhase.Succeeded);
        t.Logs(ok, started).ShouldContain("audit deploy started");
        ok.Status.Nodes!.Values.ShouldNotContain(n => n.Name.EndsWith(".onExit", StringComparison.Ordinal), "deploy succeeded: the exit hook's expression is false");

        var failed = await t.RunYamlAsync(SeedDeploy, "code=3");
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(failed, "deploy").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(failed, "deploy.hooks.running").Phase.ShouldBe(NodePhase.Succeeded);
        var exit = TestEngine.Node(failed, "deploy.onExit");
        exit.Phase.ShouldBe(NodePhase.Succeeded);
        t.Logs(failed, exit).ShouldContain("audit deploy finished with Failed");
        exit.StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(TestEngine.Node(failed, "deploy").FinishedAt!.Value);
    }

    [Fact]
    public async Task Workflow_level_hooks_fire_once_when_their_expression_first_holds_and_the_workflow_waits_for_them()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: wf-hooks-}
            spec:
              entrypoint: main
              hooks:
                exit:
                  template: note
                  arguments: {parameters: [{name: what, value: "exit saw {{workflow.status}}"}]}
                running:
                  expression: workflow.status == "Running"
                  template: note
                  arguments: {parameters: [{name: what, value: "running"}]}
                done:
                  expression: workflow.status == "Succeeded"
                  template: note
                  arguments: {parameters: [{name: what, value: "done"}]}
                failed:
                  expression: workflow.status == "Failed"
                  template: note
              templates:
              - name: main
                steps:
                - - {name: one, template: work}
                - - {name: two, template: work}
                - - {name: three, template: work}
              - name: work
                container: {image: busybox, command: [sh, -c, "echo work"]}
              - name: note
                inputs: {parameters: [{name: what, default: "-"}]}
                container: {image: busybox, command: [sh, -c, "sleep 0.3; echo 'note: {{inputs.parameters.what}}'"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var hookNodes = wf.Status.Nodes!.Values.Where(n => n.Name.StartsWith($"{wf.Name}.hooks.", StringComparison.Ordinal)).Select(n => n.Name).Order().ToList();
        hookNodes.ShouldBe([$"{wf.Name}.hooks.done", $"{wf.Name}.hooks.running"], "each hook fires once; 'failed' never held");

        var running = Named(wf, $"{wf.Name}.hooks.running")!;
        t.Logs(wf, running).ShouldContain("note: running");
        running.StartedAt!.Value.ShouldBeLessThanOrEqualTo(TestEngine.Node(wf, "one").FinishedAt!.Value, "it fired when the workflow started running");

        var done = Named(wf, $"{wf.Name}.hooks.done")!;
        done.Phase.ShouldBe(NodePhase.Succeeded, "the workflow waits for a fired hook before it ends");
        done.StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(TestEngine.Node(wf, "three").FinishedAt!.Value);
        var exit = Named(wf, $"{wf.Name}.onExit")!;
        t.Logs(wf, exit).ShouldContain("note: exit saw Succeeded");
        exit.StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(done.FinishedAt!.Value, "hooks finish before the exit handler starts");
    }

    [Fact]
    public async Task A_failing_hook_does_not_change_the_phase_of_its_step_or_workflow()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: hook-fails-}
            spec:
              entrypoint: main
              hooks:
                start: {expression: workflow.status == "Running", template: boom}
              templates:
              - name: main
                steps:
                - - name: work
                    template: work
                    hooks:
                      running: {template: boom}
              - name: work
                container: {image: busybox, command: [sh, -c, "echo work"]}
              - name: boom
                container: {image: busybox, command: [sh, -c, "exit 5"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        Named(wf, $"{wf.Name}.hooks.start")!.Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(wf, "work.hooks.running").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(wf, "work").Phase.ShouldBe(NodePhase.Succeeded);
    }

    [Fact]
    public async Task Dag_task_hooks_see_the_task_status_and_outputs_and_the_dag_waits_for_its_exit_hook()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: dag-hooks-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - name: build
                    template: build
                    hooks:
                      succeeded:
                        expression: tasks["build"].status == "Succeeded"
                        template: note
                        arguments: {parameters: [{name: what, value: "built"}]}
                      failed:
                        expression: tasks.build.status == "Failed"
                        template: note
                      exit:
                        template: report
                        arguments:
                          parameters:
                          - {name: version, value: "{{tasks.build.outputs.parameters.version}}"}
                          - {name: status, value: "{{tasks.build.status}}"}
                  - {name: test, template: note, depends: build, arguments: {parameters: [{name: what, value: "testing"}]}}
              - name: build
                container: {image: busybox, command: [sh, -c, "echo 1.2.3 > /tmp/v"]}
                outputs: {parameters: [{name: version, valueFrom: {path: /tmp/v}}]}
              - name: note
                inputs: {parameters: [{name: what, default: "-"}]}
                container: {image: busybox, command: [sh, -c, "echo 'note: {{inputs.parameters.what}}'"]}
              - name: report
                inputs: {parameters: [{name: version}, {name: status}]}
                container: {image: busybox, command: [sh, -c, "sleep 1; echo 'build {{inputs.parameters.version}} {{inputs.parameters.status}}'"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "build.hooks.succeeded")).ShouldContain("note: built");
        wf.Status.Nodes!.Values.ShouldNotContain(n => n.Name.EndsWith(".hooks.failed", StringComparison.Ordinal));
        var exit = TestEngine.Node(wf, "build.onExit");
        exit.Phase.ShouldBe(NodePhase.Succeeded, "the DAG does not end before its task's exit hook has");
        t.Logs(wf, exit).ShouldContain("build 1.2.3 Succeeded");
    }

    [Fact]
    public async Task A_step_exit_hook_runs_before_the_next_group_and_sees_the_step_outputs()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: step-exit-}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: work
                    template: work
                    continueOn: {failed: true}
                    hooks:
                      exit:
                        template: tidy
                        arguments:
                          parameters:
                          - {name: got, value: "{{steps.work.outputs.parameters.out}} {{steps.work.status}} {{steps.work.exitCode}}"}
                - - {name: next, template: next}
              - name: work
                container: {image: busybox, command: [sh, -c, "echo made > /tmp/out; exit 2"]}
                outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
              - name: tidy
                inputs: {parameters: [{name: got}]}
                container: {image: busybox, command: [sh, -c, "echo 'tidy got {{inputs.parameters.got}}'"]}
              - name: next
                container: {image: busybox, command: [sh, -c, "echo next"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var exit = TestEngine.Node(wf, "work.onExit");
        t.Logs(wf, exit).ShouldContain("tidy got made Failed 2");
        TestEngine.Node(wf, "next").StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(exit.FinishedAt!.Value);
    }

    [Fact]
    public async Task Hook_templates_from_a_WorkflowTemplate_are_frozen_at_submission()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: audit-lib}
            spec:
              templates:
              - name: audited
                steps:
                - - name: inner
                    template: say
                    hooks:
                      running: {template: say}
              - name: say
                container: {image: busybox, command: [sh, -c, "echo from the library"]}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: lib-hooks-}
            spec:
              entrypoint: main
              hooks:
                exit: {templateRef: {name: audit-lib, template: say}}
              templates:
              - name: main
                steps:
                - - name: outer
                    templateRef: {name: audit-lib, template: audited}
                    hooks:
                      running: {templateRef: {name: audit-lib, template: say}}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        foreach (var hook in new[] { TestEngine.Node(wf, "outer.hooks.running"), TestEngine.Node(wf, "inner.hooks.running"), Named(wf, $"{wf.Name}.onExit")! })
        {
            hook.Phase.ShouldBe(NodePhase.Succeeded, hook.Name);
            t.Logs(wf, hook).ShouldContain("from the library");
        }
    }

    // ---- validation ----

    private static IReadOnlyList<ManifestError> Check(string templates, string specExtra = "")
    {
        try
        {
            ManifestReader.Read("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}\nspec:\n  entrypoint: main\n" + specExtra + "\n  templates:\n" + templates + "\n", "v.yaml");
            return [];
        }
        catch (ManifestException e) { return e.Errors; }
    }

    private const string Leaf = """
          - name: leaf
            container: {image: busybox, command: [echo]}
        """;

    [Fact]
    public void Hooks_are_validated_at_load_with_field_paths()
    {
        var errors = Check($$"""
              - name: main
                steps:
                - - name: a
                    template: leaf
                    onExit: leaf
                    hooks:
                      exit: {template: leaf}
                      audit: {template: leaf}
                      typo: {template: nope, expression: "true"}
                      broken: {template: leaf, expression: "steps.a.status =="}
                      both: {template: leaf, templateRef: {name: lib, template: x}, expression: "true"}
            {{Leaf}}
            """, """
              hooks:
                exit: {template: leaf, expression: workflow.status == "Failed"}
                nothing: {expression: "true"}
            """);
        errors.Select(e => (e.Path, e.Reason)).ShouldBe(
        [
            ("spec.hooks.exit.expression", "the workflow's exit handler always runs: put the condition in its template, e.g. a step with when: \"{{workflow.status}} != Succeeded\""),
            ("spec.hooks.nothing.template", "missing: hook 'nothing' must name a template or templateRef"),
            ("spec.templates[0].steps[0][0].hooks.exit", "set either onExit or hooks.exit, not both"),
            ("spec.templates[0].steps[0][0].hooks.audit.expression", "missing: hook 'audit' fires when its expression becomes true; only exit and running may go without one"),
            ("spec.templates[0].steps[0][0].hooks.typo.template", "template 'nope' is not defined"),
            ("spec.templates[0].steps[0][0].hooks.broken.expression", errors.Single(e => e.Path.EndsWith("broken.expression", StringComparison.Ordinal)).Reason),
            ("spec.templates[0].steps[0][0].hooks.both.template", "hook 'both' sets both template and templateRef"),
        ], ignoreOrder: true);
        errors.Single(e => e.Path.EndsWith("broken.expression", StringComparison.Ordinal)).Reason.ShouldStartWith("cannot parse 'steps.a.status ==': ");
    }

    [Fact]
    public void A_hook_with_an_unknown_field_is_refused_and_template_hooks_are_checked()
    {
        var unknown = Check($$"""
              - name: main
                hooks:
                  running: {template: leaf, when: "x"}
                container: {image: busybox}
            {{Leaf}}
            """);
        unknown.ShouldNotBeEmpty();
        unknown.ShouldContain(e => e.Path.Contains("hooks.running", StringComparison.Ordinal) && e.Reason.Contains("when", StringComparison.Ordinal), string.Join("\n", unknown));

        var onTemplate = Check($$"""
              - name: main
                hooks:
                  running: {template: gone}
                container: {image: busybox}
            {{Leaf}}
            """);
        onTemplate.Select(e => (e.Path, e.Reason)).ShouldBe([("spec.templates[0].hooks.running.template", "template 'gone' is not defined")]);

        Check($$"""
              - name: main
                dag:
                  tasks:
                  - name: a
                    template: leaf
                    hooks:
                      running: {template: leaf}
                      late: {template: leaf, expression: 'tasks["a"].status == "Succeeded"'}
            {{Leaf}}
            """).ShouldBeEmpty();
    }
}

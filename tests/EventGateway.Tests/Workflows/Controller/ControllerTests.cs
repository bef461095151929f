using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>The controller's semantics on real sandboxed processes: limits, retries, exits, data flow.</summary>
public sealed class ControllerTests
{
    /// <summary>The most pods whose [start, finish] intervals overlap at one instant.</summary>
    internal static int MaxOverlap(IEnumerable<NodeStatus> pods)
    {
        var events = pods.SelectMany(p => new[] { (At: p.StartedAt!.Value, Delta: 1), (At: p.FinishedAt!.Value, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta).ToList();
        int current = 0, max = 0;
        foreach (var e in events) max = Math.Max(max, current += e.Delta);
        return max;
    }

    private static IEnumerable<NodeStatus> Pods(Workflow wf) => wf.Status!.Nodes!.Values.Where(n => n.Type == NodeType.Pod);

    private const string Fan = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: fan-}
        spec:
          entrypoint: main
          WF_LIMIT
          templates:
          - name: main
            TMPL_LIMIT
            steps:
            - - name: work
                template: nap
                withSequence: {count: "8"}
          - name: nap
            container: {image: busybox, command: [sh, -c, "sleep 0.3"]}
        """;

    [Fact]
    public async Task Workflow_parallelism_is_never_exceeded()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Fan.Replace("WF_LIMIT", "parallelism: 3").Replace("TMPL_LIMIT", ""));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        Pods(wf).Count().ShouldBe(8);
        var overlap = MaxOverlap(Pods(wf));
        overlap.ShouldBeLessThanOrEqualTo(3);
        overlap.ShouldBeGreaterThan(1, "steps should run in parallel up to the limit");
    }

    [Fact]
    public async Task Template_parallelism_is_never_exceeded()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Fan.Replace("WF_LIMIT", "").Replace("TMPL_LIMIT", "parallelism: 2"));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        MaxOverlap(Pods(wf)).ShouldBe(2);
    }

    [Fact]
    public async Task Service_wide_process_cap_holds_across_workflows_steps()
    {
        await using var t = await TestEngine.StartAsync(maxProcesses: 2);
        var wf = await t.RunYamlAsync(Fan.Replace("WF_LIMIT", "").Replace("TMPL_LIMIT", ""));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        MaxOverlap(Pods(wf)).ShouldBeLessThanOrEqualTo(2);
    }

    [Fact]
    public async Task Retries_until_the_limit_then_fails_with_every_attempt_recorded()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: flaky}
            spec:
              entrypoint: main
              templates:
              - name: main
                retryStrategy: {limit: "2"}
                container: {image: busybox, command: [sh, -c, "echo attempt {{retries}}; exit 3"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var retry = TestEngine.Node(wf, "flaky");
        retry.Type.ShouldBe(NodeType.Retry);
        retry.Children!.Count.ShouldBe(3);
        for (var i = 0; i < 3; i++)
        {
            var attempt = TestEngine.Node(wf, $"flaky({i})");
            attempt.Phase.ShouldBe(NodePhase.Failed);
            attempt.Outputs!.ExitCode.ShouldBe("3");
            t.Logs(wf, attempt).ShouldContain($"attempt {i}");
        }
    }

    [Fact]
    public async Task Retry_succeeds_on_a_later_attempt_and_policy_OnError_does_not_retry_failures()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: retry-}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: eventually, template: third-time-lucky}
                  - {name: on-error-only, template: fails-once}
              - name: third-time-lucky
                retryStrategy: {limit: 5}
                container: {image: busybox, command: [sh, -c, "[ {{retries}} -ge 2 ]"]}
              - name: fails-once
                retryStrategy: {limit: 5, retryPolicy: OnError}
                container: {image: busybox, command: [sh, -c, "exit 1"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var lucky = TestEngine.Node(wf, "eventually");
        lucky.Phase.ShouldBe(NodePhase.Succeeded);
        lucky.Children!.Count.ShouldBe(3);
        TestEngine.Node(wf, "on-error-only").Children!.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Exit_handler_sees_the_workflow_status_and_failures()
    {
        await using var t = await TestEngine.StartAsync();
        const string yaml = """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: exit-}
            spec:
              entrypoint: main
              onExit: report
              arguments: {parameters: [{name: code, value: "0"}]}
              templates:
              - name: main
                container: {image: busybox, command: [sh, -c, "exit {{workflow.parameters.code}}"]}
              - name: report
                container: {image: busybox, command: [sh, -c, "echo 'status={{workflow.status}}'; echo '{{workflow.failures}}'"]}
            """;
        var ok = await t.RunYamlAsync(yaml);
        ok.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        t.Logs(ok, TestEngine.Node(ok, $"{ok.Name}.onExit")).ShouldContain("status=Succeeded");

        var bad = await t.RunYamlAsync(yaml, "code=4");
        bad.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var log = t.Logs(bad, TestEngine.Node(bad, $"{bad.Name}.onExit"));
        log.ShouldContain("status=Failed");
        log.ShouldContain("\"displayName\":\"" + bad.Name + "\"");
        log.ShouldContain("exit code 4");
    }

    [Fact]
    public async Task Dag_depends_routes_on_failure_and_omits_the_happy_path()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: depends-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: build, template: fail}
                  - {name: deploy, template: ok, depends: build}
                  - {name: rollback, template: ok, depends: "build.Failed || build.Errored"}
                  - {name: always, template: ok, depends: "(deploy || rollback) && !build.Succeeded"}
              - name: fail
                container: {image: busybox, command: [sh, -c, "exit 1"]}
              - name: ok
                container: {image: busybox, command: [sh, -c, "echo ran"]}
            """);
        TestEngine.Node(wf, "build").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(wf, "deploy").Phase.ShouldBe(NodePhase.Omitted);
        TestEngine.Node(wf, "rollback").Phase.ShouldBe(NodePhase.Succeeded);
        TestEngine.Node(wf, "always").Phase.ShouldBe(NodePhase.Succeeded);
        // build's failure was handled by rollback, so the DAG succeeds.
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task Fail_fast_dag_stops_starting_tasks_after_an_unhandled_failure()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: failfast-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: a, template: fail}
                  - {name: b, template: ok, dependencies: [a]}
              - name: fail
                container: {image: busybox, command: [sh, -c, "exit 1"]}
              - name: ok
                container: {image: busybox, command: [true]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        TestEngine.Node(wf, "b").Phase.ShouldBe(NodePhase.Omitted);
        wf.Status.Message.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Outputs_flow_through_withParam_when_expressions_and_aggregated_loop_outputs()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: flow-}
            spec:
              entrypoint: main
              arguments: {parameters: [{name: n, value: "3"}]}
              templates:
              - name: main
                steps:
                - - name: gen
                    template: gen
                - - name: square
                    template: square
                    arguments: {parameters: [{name: x, value: "{{item}}"}]}
                    withParam: "{{steps.gen.outputs.result}}"
                - - name: big
                    template: echo
                    when: "{{=asInt(workflow.parameters.n) * 2}} > 5"
                    arguments: {parameters: [{name: msg, value: "squares={{steps.square.outputs.parameters.sq}}"}]}
                  - name: small
                    template: echo
                    when: "{{workflow.parameters.n}} < 2"
                    arguments: {parameters: [{name: msg, value: "unused"}]}
              - name: gen
                script:
                  image: python:3.12
                  command: [python3]
                  source: |
                    import json
                    print(json.dumps(list(range(1, {{workflow.parameters.n}} + 1))))
              - name: square
                inputs: {parameters: [{name: x}]}
                container:
                  image: busybox
                  command: [sh, -c, "echo $(( {{inputs.parameters.x}} * {{inputs.parameters.x}} )) > /tmp/sq"]
                outputs: {parameters: [{name: sq, valueFrom: {path: /tmp/sq}}]}
              - name: echo
                inputs: {parameters: [{name: msg}]}
                container: {image: busybox, command: [echo, "{{inputs.parameters.msg}}"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        TestEngine.Node(wf, "square(2:3)").Outputs!.Parameters![0].Value.ShouldBe("9");
        t.Logs(wf, TestEngine.Node(wf, "big")).ShouldContain("squares=[\"1\",\"4\",\"9\"]");
        TestEngine.Node(wf, "small").Phase.ShouldBe(NodePhase.Skipped);
    }

    [Fact]
    public async Task Artifacts_pass_files_and_directories_between_steps()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: art-}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: make, template: make}
                - - name: use
                    template: use
                    arguments:
                      artifacts:
                      - {name: report, from: "{{steps.make.outputs.artifacts.report}}"}
                      - {name: tree, from: "{{steps.make.outputs.artifacts.tree}}"}
              - name: make
                container: {image: busybox, command: [sh, -c, "echo hello > /tmp/r.txt; mkdir -p /out/sub; echo deep > /out/sub/f"]}
                outputs:
                  artifacts:
                  - {name: report, path: /tmp/r.txt}
                  - {name: tree, path: /out}
              - name: use
                inputs:
                  artifacts:
                  - {name: report, path: /inputs/report.txt}
                  - {name: tree, path: /data/tree}
                container: {image: busybox, command: [sh, -c, "cat /inputs/report.txt /data/tree/sub/f; ls /tmp | wc -l"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var log = t.Logs(wf, TestEngine.Node(wf, "use"));
        log.ShouldContain("hello");
        log.ShouldContain("deep");
        // Each step has a private /tmp: the first step's r.txt is not visible to the second.
        log.Trim().Split('\n').Last().Trim().ShouldBe("0");
    }

    [Fact]
    public async Task Env_comes_from_ConfigMaps_and_Secrets_and_a_missing_one_is_an_error()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {REGION: eu-west-1}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: creds}
            data: {token: czNjcjN0}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: env-}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: good, template: good}
                  - {name: bad, template: bad}
              - name: good
                container:
                  image: busybox
                  command: [sh, -c, "echo $REGION $TOKEN $(GREETING)"]
                  env:
                  - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}
                  - {name: GREETING, value: hi}
                  envFrom: [{configMapRef: {name: settings}}]
              - name: bad
                container:
                  image: busybox
                  command: [true]
                  env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]
            """);
        t.Logs(wf, TestEngine.Node(wf, "good")).ShouldContain("eu-west-1 s3cr3t hi");
        var bad = TestEngine.Node(wf, "bad");
        bad.Phase.ShouldBe(NodePhase.Error);
        bad.Message.ShouldBe("env X: configmap \"nope\" not found");
    }

    [Fact]
    public async Task A_step_level_exit_handler_runs_before_the_next_group()
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
                - - {name: work, template: work, onExit: tidy}
                - - {name: next, template: next}
              - name: work
                container: {image: busybox, command: [sh, -c, "echo working"]}
              - name: tidy
                container: {image: busybox, command: [sh, -c, "echo tidy saw {{workflow.status}}; date +%s%N"]}
              - name: next
                container: {image: busybox, command: [sh, -c, "date +%s%N"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var tidy = wf.Status.Nodes!.Values.Single(n => n.Name.EndsWith(".work.onExit", StringComparison.Ordinal));
        tidy.Phase.ShouldBe(NodePhase.Succeeded);
        var next = TestEngine.Node(wf, "next");
        next.StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(tidy.FinishedAt!.Value);
        t.Logs(wf, tidy).ShouldContain("tidy saw Succeeded");
    }

    [Fact]
    public async Task A_referenced_template_runs_with_its_own_helpers_and_exit_handler()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: lib}
            spec:
              templates:
              - name: outer
                inputs: {parameters: [{name: who}]}
                steps:
                - - name: work
                    template: leaf
                    onExit: cleanup
                    arguments: {parameters: [{name: who, value: "{{inputs.parameters.who}}"}]}
              - name: leaf
                inputs: {parameters: [{name: who}]}
                container: {image: busybox, command: [echo, "leaf for {{inputs.parameters.who}}"]}
              - name: cleanup
                container: {image: busybox, command: [echo, "lib cleanup"]}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: use-lib-}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - name: use
                    templateRef: {name: lib, template: outer}
                    arguments: {parameters: [{name: who, value: me}]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "work")).ShouldContain("leaf for me");
        var exit = wf.Status.Nodes!.Values.Single(n => n.Name.EndsWith(".work.onExit", StringComparison.Ordinal));
        t.Logs(wf, exit).ShouldContain("lib cleanup");
    }
}

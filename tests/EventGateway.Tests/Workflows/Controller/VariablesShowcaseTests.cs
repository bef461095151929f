using Shouldly;
using EventGateway.Model;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Argo's examples/variables-showcase.yaml ("every non-cronworkflow variable") through real sandboxed steps. Its
/// daemon step <c>svc</c> (and the <c>steps.svc.ip</c> / <c>tasks.svc.ip</c> it exists for) is cut out here: daemon
/// steps are their own feature (a tcpSocket readiness probe is refused at load), and its <c>nc -lk</c> needs a netcat
/// the host may not have. Everything else runs as Argo's file has it.
/// </summary>
public sealed class VariablesShowcaseTests
{
    private static string WithoutDaemon()
    {
        var yaml = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflowsRuntime", "variables-showcase.yaml"));
        foreach (var (cut, with) in new[]
        {
            ("          - name: svc                   # daemon — validator only exposes .ip on daemons\n            template: svc-daemon\n", ""),
            ("                - { name: svc-ip,          value: \"{{steps.svc.ip}}\" }       # ip only valid on daemon\n", ""),
            ("          - name: svc                                              # daemon — for tasks.<n>.ip\n            template: svc-daemon\n", ""),
            ("depends: \"a && svc\"", "depends: \"a\""),
            ("                - { name: svc-ip,      value: \"{{tasks.svc.ip}}\" }    # ip only valid on daemon\n", ""),
            ("          - name: svc-ip\n          - name: prep-started", "          - name: prep-started"),
            ("            echo \"svc.ip               = {{inputs.parameters.svc-ip}}\"\n", ""),
            ("    - name: svc-daemon\n      daemon: true\n      container:\n        image: alpine:3.23\n        command: [sh, -c]\n        args: [\"nc -lk -p 9999 -e /bin/true\"]\n" +
             "        readinessProbe:\n          tcpSocket:\n            port: 9999\n          initialDelaySeconds: 1\n          timeoutSeconds: 1\n", ""),
        })
        {
            yaml.ShouldContain(cut);
            yaml = yaml.Replace(cut, with, StringComparison.Ordinal);
        }
        yaml.ShouldNotContain("svc.ip");
        return yaml;
    }

    private static string Line(string log, string label) =>
        (log.Split('\n').SingleOrDefault(l => l.StartsWith(label, StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"no line '{label}' in:\n{log}"))
            [label.Length..].TrimStart(' ', '=').Trim();

    [Fact]
    public async Task Every_variable_of_the_showcase_resolves_as_in_argo()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(WithoutDaemon());

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var prepare = t.Logs(wf, TestEngine.Node(wf, "prepare"));
        Line(prepare, "steps.name").ShouldBe("prepare");
        Line(prepare, "ts.scheduled").ShouldBe("2026-04-29T00:00:00Z");
        Line(prepare, "labels.json").ShouldBe("{app:variables-demo,tier:example}"); // the shell ate the quotes, as in Argo
        Line(prepare, "params.json").ShouldBe("[{name:greeting,value:hello},{name:target,value:world}]");
        Line(prepare, "annotations.owner").ShouldBe("platform-team");
        double.Parse(Line(prepare, "workflow.duration"), System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(0);

        var fanout = t.Logs(wf, wf.Status.Nodes!.Values.First(n => n.DisplayName == "fanout(0:k:alpha,v:1)(0)"), "stderr");
        fanout.ShouldContain("greeting=hello target=worldretries             = 0"); // the input artifact's text ends without a newline
        Line(fanout, "lastRetry.exitCode").ShouldBe("0");
        Line(fanout, "lastRetry.status").ShouldBe("");

        var consume = t.Logs(wf, TestEngine.Node(wf, "consume"));
        Line(consume, "current step.name").ShouldBe(""); // main runs as Argo's unnamed entrypoint step
        Line(consume, "prepare.host").ShouldBe(Environment.MachineName);
        Line(consume, "prepare.status").ShouldBe("Succeeded");
        Line(consume, "fanout.echoed-param").ShouldBe("[alpha=1,beta=2]");

        var loop = t.Logs(wf, TestEngine.Node(wf, "c-loop(1:y)"), "stderr");
        loop.ShouldContain("tag=y tasks.name=c-loop");
        var report = t.Logs(wf, TestEngine.Node(wf, "report"));
        Line(report, "workflow.status").ShouldBe("Succeeded");
        Line(report, "workflow.failures").ShouldBe("[]");
        Line(report, "workflow.outputs.params.prepared").ShouldBe("greeting=hello target=world");
    }
}

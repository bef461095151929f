using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Cli;

/// <summary>The `egw` binary as a user runs it: exit codes, stdout JSON, stderr logs and messages.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    internal static async Task<(int Code, string Out, string Err)> Egw(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "egw.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["EGW_SERVER"] = "http://127.0.0.1:1";
        // `egw --server URL` of a test's `egw serve` reads that server's admin token, as on one machine.
        if (args.Zip(args.Skip(1)).FirstOrDefault(p => p.First is "--server" or "-s").Second is { } server && ServeProcess.DataDirOf(server) is { } dataDir)
            psi.Environment["EGW_DATA_DIR"] = dataDir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync(new CancellationTokenSource(TestEngine.Patience).Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    private const string Steps = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: cli-}
        spec:
          entrypoint: main
          arguments: {parameters: [{name: code, value: "0"}]}
          templates:
          - name: main
            steps:
            - - {name: hello, template: hello}
            - - {name: finish, template: finish}
          - name: hello
            container: {image: busybox, command: [sh, -c, "echo hello from step"]}
          - name: finish
            container: {image: busybox, command: [sh, -c, "exit {{workflow.parameters.code}}"]}
        """;

    [Fact]
    public async Task Run_prints_the_final_workflow_as_json_and_streams_logs_to_stderr()
    {
        var (code, stdout, stderr) = await Egw("run", Write("ok.yaml", Steps), "-o", "json");
        code.ShouldBe(0, stderr);
        var wf = JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        wf.Status.Nodes!.Values.Single(n => n.DisplayName == "hello").Outputs!.Result.ShouldBe("hello from step");
        stderr.ShouldContain("hello: hello from step");
    }

    [Fact]
    public async Task Run_exits_1_when_a_workflow_fails()
    {
        var (code, stdout, _) = await Egw("run", Write("bad.yaml", Steps), "-p", "code=3");
        code.ShouldBe(1);
        stdout.ShouldContain("Failed");
        stdout.ShouldContain("Error (exit code 3)");
    }

    [Fact]
    public async Task Several_workflows_give_a_json_list()
    {
        var (code, stdout, stderr) = await Egw("run", Write("a.yaml", Steps), Write("b.yaml", Steps), "-o", "json", "-q");
        code.ShouldBe(0, stderr);
        JsonNode.Parse(stdout)!.AsArray().Count.ShouldBe(2);
    }

    [Fact]
    public async Task Invalid_input_exits_2_with_file_line_path_and_reason_and_runs_nothing()
    {
        var bad = Write("typo.yaml", Steps.Replace("  entrypoint: main", "  entrypoint: main\n  paralelism: 2"));
        var good = Write("good.yaml", Steps);
        var (code, stdout, stderr) = await Egw("run", good, bad);
        code.ShouldBe(2);
        stderr.ShouldContain($"{bad}:6: document 1 (Workflow/cli-): spec.paralelism: unknown field \"paralelism\"");
        stdout.ShouldBeEmpty();
        stderr.ShouldNotContain("hello from step");

        var lint = await Egw("lint", good, bad);
        lint.Code.ShouldBe(2);
        lint.Err.ShouldContain("spec.paralelism: unknown field");
        (await Egw("lint", good)).Code.ShouldBe(0);
    }

    [Fact]
    public async Task An_undeclared_parameter_is_refused()
    {
        var (code, _, stderr) = await Egw("run", Write("p.yaml", Steps), "-p", "colour=red");
        code.ShouldBe(2);
        stderr.ShouldContain("-p colour: the workflow declares no argument 'colour' (declared: code)");
    }

    [Fact]
    public async Task Run_from_a_workflow_template_in_the_files()
    {
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
        var (code, stdout, stderr) = await Egw("run", file, "--from", "workflowtemplate/greet", "-p", "who=cli", "-o", "json");
        code.ShouldBe(0, stderr);
        stderr.ShouldContain("hi cli");
        JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!.Metadata.Labels!["workflows.argoproj.io/workflow-template"].ShouldBe("greet");
    }

    [Fact]
    public async Task Client_commands_say_clearly_when_the_server_is_unreachable()
    {
        var (code, _, stderr) = await Egw("list");
        code.ShouldBe(1);
        stderr.ShouldContain("cannot reach the server at http://127.0.0.1:1/");
    }

    [Fact]
    public async Task Client_commands_work_against_a_server()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var (code, stdout, stderr) = await Egw("submit", Write("s.yaml", Steps), "--server", server, "--wait", "-o", "json");
        code.ShouldBe(0, stderr);
        var name = JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!.Name;

        var get = await Egw("get", "@latest", "--server", server);
        get.Out.ShouldContain($"Name:                {name}");
        get.Out.ShouldContain("✔ hello");
        (await Egw("list", "--server", server)).Out.ShouldContain(name);
        (await Egw("logs", name, "--server", server)).Out.ShouldContain("hello: hello from step");
        (await Egw("delete", name, "--server", server)).Code.ShouldBe(0);
        (await Egw("get", name, "--server", server)).Code.ShouldBe(1);
    }

    private static string Labelled(string team) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          generateName: {{team}}-
          labels: {team: {{team}} }
        spec:
          entrypoint: main
          templates:
          - name: main
            container: {image: busybox, command: ["true"]}
        """;

    [Fact]
    public async Task List_prints_a_json_list_whatever_the_count_across_namespaces_and_by_label()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        (await Egw("submit", Write("a.yaml", Labelled("alpha")), "--server", server)).Code.ShouldBe(0);
        (await Egw("submit", Write("b.yaml", Labelled("beta")), "-n", "ops", "--server", server)).Code.ShouldBe(0);

        static List<Workflow> Items((int Code, string Out, string Err) r)
        {
            r.Code.ShouldBe(0, r.Err);
            JsonNode.Parse(r.Out).ShouldBeOfType<JsonArray>("a list command prints a list, also of one");
            return JsonSerializer.Deserialize<List<Workflow>>(r.Out, Json.Lenient)!;
        }
        Items(await Egw("list", "-o", "json", "--server", server)).Select(w => w.Metadata.Labels!["team"]).ShouldBe(["alpha"]);
        Items(await Egw("list", "-A", "-o", "json", "--server", server)).Select(w => w.NamespaceOrDefault).Order().ShouldBe(["default", "ops"]);
        Items(await Egw("list", "-A", "-l", "team=beta", "-o", "json", "--server", server)).Select(w => w.NamespaceOrDefault).ShouldBe(["ops"]);
        Items(await Egw("list", "-A", "-l", "team notin (alpha,beta)", "-o", "json", "--server", server)).ShouldBeEmpty();

        var table = await Egw("list", "-A", "--server", server);
        table.Out.Split('\n')[0].ShouldStartWith("NAMESPACE");
        table.Out.ShouldContain("ops");

        var bad = await Egw("list", "-l", "team=a,=b", "--server", server);
        bad.Code.ShouldBe(2);
        bad.Err.ShouldContain("listOptions.labelSelector");
    }

    [Fact]
    public async Task Get_and_list_print_yaml_that_reads_back_as_the_same_workflow()
    {
        await using var serve = await ServeProcess.StartAsync();
        var server = serve.BaseAddress.ToString();
        var submitted = await Egw("submit", Write("y.yaml", Labelled("gamma")), "--server", server, "-o", "json");
        var name = JsonSerializer.Deserialize<Workflow>(submitted.Out, Json.Lenient)!.Name;

        var get = await Egw("get", name, "-o", "yaml", "--server", server);
        get.Code.ShouldBe(0, get.Err);
        var json = JsonNode.Parse(YamlToJson.Convert(get.Out).Single().Json)!;
        json["metadata"]!["name"]!.GetValue<string>().ShouldBe(name);
        json["metadata"]!["labels"]!["team"]!.GetValue<string>().ShouldBe("gamma");

        var list = await Egw("list", "-o", "yaml", "--server", server);
        list.Code.ShouldBe(0, list.Err);
        JsonNode.Parse(YamlToJson.Convert(list.Out).Single().Json).ShouldBeOfType<JsonArray>().Count.ShouldBe(1);

        var bad = await Egw("list", "-o", "xml", "--server", server);
        bad.Code.ShouldBe(2);
        bad.Err.ShouldContain("unknown output format 'xml': use json or yaml");
    }

    [Fact]
    public async Task Bash_completion_asks_egw_for_commands_and_option_values()
    {
        var script = await Egw("completion", "bash");
        script.Code.ShouldBe(0, script.Err);
        var path = Write("egw-completion.bash", script.Out);
        var dll = Path.Combine(AppContext.BaseDirectory, "egw.dll");
        // What bash does on <TAB>: COMP_* describe the line; the function fills COMPREPLY.
        async Task<string[]> Complete(string line, params string[] words)
        {
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add($$"""
                source '{{path}}'
                egw() { dotnet '{{dll}}' "$@"; }
                COMP_LINE='{{line}}'; COMP_POINT={{line.Length}}; COMP_WORDS=({{string.Join(' ', words.Select(w => $"'{w}'"))}}); COMP_CWORD={{words.Length - 1}}
                _egw; printf '%s\n' "${COMPREPLY[@]}"
                """);
            using var p = Process.Start(psi)!;
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync(new CancellationTokenSource(TestEngine.Patience).Token);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        (await Complete("egw li", "egw", "li")).ShouldBe(["lint", "list"]);
        (await Complete("egw list -o ", "egw", "list", "-o", "")).ShouldBe(["json", "yaml"]);
        (await Egw("completion", "tcsh")).Code.ShouldBe(2);
    }
}

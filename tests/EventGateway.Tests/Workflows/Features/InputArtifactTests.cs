using System.Diagnostics;
using System.Net;
using System.Text;
using EventGateway.Model;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Shouldly;

namespace EventGateway.Tests.Workflows.Features;

/// <summary>git and http input artifacts: a real git repository served by git daemon, a real Kestrel server on loopback.</summary>
public sealed class InputArtifactTests
{
    private const string Secret = """
        apiVersion: v1
        kind: Secret
        metadata: {name: web-cred}
        stringData: {user: alice, password: s3cret}
        ---

        """;

    private sealed class Web : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private Web(WebApplication app) => _app = app;
        public string Url { get; private set; } = "";
        public List<IHeaderDictionary> Requests { get; } = [];

        public static async Task<Web> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var web = new Web(app);
            app.Run(async context =>
            {
                lock (web.Requests) web.Requests.Add(new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)));
                switch (context.Request.Path.Value)
                {
                    case "/kubectl":
                        if (context.Request.Headers.Authorization != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:s3cret")))
                        {
                            context.Response.StatusCode = 401;
                            return;
                        }
                        await context.Response.WriteAsync("#!/bin/sh\necho \"kubectl v1.8.0 $X_TEAM\"\n");
                        return;
                    case "/big":
                        await context.Response.Body.WriteAsync(new byte[2 * 1024 * 1024]);
                        return;
                    default:
                        context.Response.StatusCode = 404;
                        return;
                }
            });
            await app.StartAsync();
            web.Url = app.Urls.First().TrimEnd('/');
            return web;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }

    [Fact]
    public async Task An_http_artifact_is_fetched_with_its_headers_and_basic_auth_and_staged_with_its_mode()
    {
        await using var web = await Web.StartAsync();
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(Secret + $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: http-artifact}
            spec:
              entrypoint: main
              arguments:
                artifacts:
                - name: kubectl
                  http:
                    url: {{web.Url}}/kubectl
                    headers: [{name: X-Team, value: blue}]
                    auth: {basicAuth: {usernameSecret: {name: web-cred, key: user}, passwordSecret: {name: web-cred, key: password} } }
              templates:
              - name: main
                inputs:
                  artifacts:
                  - {name: kubectl, path: /tools/kubectl, mode: 0755}
                container: {image: alpine, command: [sh, -c, "X_TEAM=ok /tools/kubectl"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "http-artifact")).Trim().ShouldBe("kubectl v1.8.0 ok");
        web.Requests.ShouldHaveSingleItem()["X-Team"].ToString().ShouldBe("blue");
    }

    [Theory]
    [InlineData("/missing", "404 Not Found")]
    [InlineData("/kubectl", "401 Unauthorized")]
    public async Task An_http_artifact_that_answers_an_error_fails_the_node_with_the_url_and_status(string path, string status)
    {
        await using var web = await Web.StartAsync();
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: http-missing}
            spec:
              entrypoint: main
              templates:
              - name: main
                inputs:
                  artifacts:
                  - {name: tool, path: /tools/tool, http: {url: "{{web.Url}}{{path}}"} }
                container: {image: alpine, command: [sh, -c, "echo never"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        TestEngine.Node(wf, "http-missing").Message.ShouldBe($"failed to load input artifact 'tool': GET {web.Url}{path}: {status}");
    }

    private sealed class GitServer : IAsyncDisposable
    {
        private readonly Process _daemon;
        private readonly string _dir;
        private GitServer(Process daemon, string dir, int port) => (_daemon, _dir, Port) = (daemon, dir, port);
        public int Port { get; }
        public string Repo => $"git://127.0.0.1:{Port}/repo.git";

        private static string Git(string cwd, params string[] args)
        {
            var psi = new ProcessStartInfo("git") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
            psi.Environment["HOME"] = cwd;
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)}: {error}");
            return output.Trim();
        }

        /// <summary>A bare repository with VERSION 1 at tag v1, then VERSION 2 on main, served by git daemon on loopback.</summary>
        public static async Task<GitServer> StartAsync()
        {
            var dir = Directory.CreateTempSubdirectory("egw-git-").FullName;
            var work = Path.Combine(dir, "work");
            Directory.CreateDirectory(work);
            Git(dir, "init", "--quiet", "--bare", "--initial-branch=main", "repo.git");
            Git(work, "init", "--quiet", "--initial-branch=main");
            foreach (var (version, tag) in new[] { ("1", "v1"), ("2", null) })
            {
                await File.WriteAllTextAsync(Path.Combine(work, "VERSION"), version + "\n");
                Git(work, "add", "VERSION");
                Git(work, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "--quiet", "-m", $"version {version}");
                if (tag is not null) Git(work, "tag", tag);
            }
            Git(work, "push", "--quiet", "--tags", Path.Combine(dir, "repo.git"), "main");
            var port = EventTestHost.FreePort();
            var psi = new ProcessStartInfo("git") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "daemon", "--reuseaddr", "--export-all", $"--base-path={dir}", "--listen=127.0.0.1", $"--port={port}", dir }) psi.ArgumentList.Add(a);
            var daemon = Process.Start(psi)!;
            var server = new GitServer(daemon, dir, port);
            await Eventually.Get(async () =>
            {
                try
                {
                    using var c = new System.Net.Sockets.TcpClient();
                    await c.ConnectAsync(IPAddress.Loopback, port);
                    return "up";
                }
                catch (System.Net.Sockets.SocketException) { return null; }
            }, "git daemon to listen");
            return server;
        }

        public ValueTask DisposeAsync()
        {
            try { _daemon.Kill(entireProcessTree: true); _daemon.WaitForExit(); } catch (InvalidOperationException) { }
            _daemon.Dispose();
            Directory.Delete(_dir, recursive: true);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The host's loopback (where git daemon listens) is out of reach of the default isolated network, by design.</summary>
    private static Task<TestEngine> HostNetworkEngine() => TestEngine.StartAsync(configure: o => o.StepNetwork = StepNetwork.Host);

    [Fact]
    public async Task A_git_artifact_is_cloned_at_its_revision_and_the_step_can_use_git_in_it()
    {
        await using var git = await GitServer.StartAsync();
        await using var t = await HostNetworkEngine();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: git-clone}
            spec:
              entrypoint: git-clone
              templates:
              - name: git-clone
                inputs:
                  artifacts:
                  - name: argo-source
                    path: /src
                    git: {repo: "{{git.Repo}}", revision: v1}
                container:
                  image: golang:1.10
                  command: [sh, -c, "git status --short && git describe --tags && cat VERSION"]
                  workingDir: /src
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "git-clone")).Trim().ShouldBe("v1\n1");
    }

    [Fact]
    public async Task A_shallow_single_branch_clone_has_one_commit_of_its_branch()
    {
        await using var git = await GitServer.StartAsync();
        await using var t = await HostNetworkEngine();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: git-shallow}
            spec:
              entrypoint: main
              templates:
              - name: main
                inputs:
                  artifacts:
                  - {name: src, path: /src, git: {repo: "{{git.Repo}}", depth: 1, singleBranch: true, branch: main} }
                container: {image: alpine/git, command: [sh, -c, "cd /src && git rev-list --count HEAD && cat VERSION"]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "git-shallow")).Trim().ShouldBe("1\n2");
    }

    [Fact]
    public async Task A_clone_that_fails_errors_the_node_with_gits_own_words()
    {
        await using var git = await GitServer.StartAsync();
        await using var t = await HostNetworkEngine();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: git-missing}
            spec:
              entrypoint: main
              templates:
              - name: main
                inputs:
                  artifacts:
                  - {name: src, path: /src, git: {repo: "git://127.0.0.1:{{git.Port}}/missing.git"} }
                container: {image: alpine, command: [echo, never]}
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Error);
        var message = TestEngine.Node(wf, "git-missing").Message!;
        message.ShouldStartWith($"failed to load input artifact 'src': git clone of git://127.0.0.1:{git.Port}/missing.git: ");
        message.ShouldContain("not exported");
    }
}

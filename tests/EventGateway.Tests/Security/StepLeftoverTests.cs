using EventGateway.Model;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// Steps of one workflow are sandboxed on one shared template (egw-step --template): a step tries to leave
/// something behind for the next step of the same workflow, or to reach a sibling running beside it, and the
/// next step (or the sibling) must find none of it. Real steps in real sandboxes of the default configuration.
/// </summary>
public sealed class StepLeftoverTests
{
    private static string Indent(string script, int spaces) => string.Join('\n', script.Split('\n').Select(l => new string(' ', spaces) + l));

    [Fact]
    public async Task Nothing_a_step_leaves_behind_reaches_the_next_step_of_its_workflow()
    {
        var marker = $"egw-planted-{Guid.NewGuid():N}";
        var plant = $"""
            set -x
            ulimit -n
            echo {marker} > /tmp/{marker}; echo {marker} > /{marker}; echo {marker} > /mnt/{marker}; echo {marker} > /dev/shm/{marker}
            echo 'export PLANTED={marker}' >> /tmp/.bashrc; echo 'export PLANTED={marker}' >> /tmp/.profile
            ipcmk -M 4096; ipcmk -Q; ipcs
            ulimit -Hn 64
            ulimit -Hu 5 || true
            (setsid bash -c 'exec -a {marker} sleep 300' > /dev/null 2>&1 &)
            for i in $(seq 100); do pgrep -f {marker} > /dev/null && break; sleep 0.05; done
            pgrep -f {marker}
            export PLANTED={marker}
            echo planted
            """;
        var check = $"""
            tr '\0' ' ' < /proc/1/cmdline; echo
            ls -a / /tmp /mnt /dev/shm
            env
            ulimit -n; ulimit -Hn; ulimit -Hu
            ipcs
            ps ax -o pid,args
            echo checked
            """;
        var yaml = $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: leftover-}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: plant, template: plant}
                - - {name: check, template: check}
              - name: plant
                script:
                  image: debian
                  command: [bash]
                  source: |
            {{Indent(plant, 8)}}
              - name: check
                script:
                  image: debian
                  command: [bash, -l]
                  source: |
            {{Indent(check, 8)}}
            """;
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(yaml);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var planted = t.Logs(wf, TestEngine.Node(wf, "plant"));
        var plantErr = t.Logs(wf, TestEngine.Node(wf, "plant"), "stderr");
        planted.ShouldContain("planted", customMessage: plantErr);
        planted.ShouldContain("Shared Memory Segments", customMessage: "the plant made a SysV segment: " + plantErr);
        var seen = t.Logs(wf, TestEngine.Node(wf, "check"));
        seen.ShouldContain("checked", customMessage: t.Logs(wf, TestEngine.Node(wf, "check"), "stderr"));

        seen.ShouldContain("--template 3 4", customMessage: "the sandbox must be the fast one, built on the shared template");
        seen.ShouldNotContain(marker); // no file in /, /tmp, /mnt, /dev/shm; no PLANTED from a profile; no process
        seen.ShouldContain("\n1024\n1024\n512\n", customMessage: "open files soft/hard and processes as configured");
        seen.ShouldNotMatch(@"(?m)^0x[0-9a-f]+ "); // ipcs lists no segment or queue (key lines start with 0x)

        // And nothing of the plant is left on the host: its background process ended with its sandbox.
        await Eventually.Get(() => Task.FromResult(HostProcessNamed(marker) ? null : "gone"), "the planted background process to be gone from the host", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_step_can_neither_see_nor_signal_a_sibling_running_beside_it()
    {
        // server and attacker run at once in one workflow (one network namespace, so they can meet on 127.0.0.1):
        // the attacker waits until the server answers, kills everything it can, then the server must still answer.
        var marker = $"egw-sibling-{Guid.NewGuid():N}";
        var yaml = $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: sibling-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: server, template: server}
                  - {name: attacker, template: attacker}
              - name: server
                script:
                  image: python
                  command: [bash]
                  source: |
                    exec -a {{marker}} python3 -c '
                    import http.server
                    s = http.server.HTTPServer(("127.0.0.1", 8081), http.server.SimpleHTTPRequestHandler)
                    s.timeout = 120
                    s.handle_request(); s.handle_request()
                    print("served twice", flush=True)'
              - name: attacker
                script:
                  image: debian
                  command: [bash]
                  source: |
                    for i in $(seq 1200); do curl -sf -o /dev/null http://127.0.0.1:8081/ && break; sleep 0.1; done
                    ps ax -o pid,args
                    kill -9 -1; pkill -9 -f {{marker}}; pkill -9 python3
                    curl -sf -o /dev/null http://127.0.0.1:8081/ && echo "sibling alive"
            """;
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(yaml);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        t.Logs(wf, TestEngine.Node(wf, "server")).ShouldBe("served twice\n");
        var attacker = t.Logs(wf, TestEngine.Node(wf, "attacker"));
        attacker.ShouldContain("sibling alive");
        attacker.ShouldNotContain(marker); // its ps showed nothing of the server's
    }

    [Fact]
    public async Task Escaping_the_steps_chroot_reaches_nothing_but_its_own_root()
    {
        // The sandbox enters its root with a chroot (not pivot_root); a new user namespace grants CAP_SYS_CHROOT, and
        // the classic escape (chroot into a subdirectory, climb out with "..") must find only the step's own root:
        // not the shared template under it, not the host.
        const string escape = """
            import os, sys
            print("before", sorted(os.listdir("/")))
            os.mkdir("/tmp/jail"); os.chroot("/tmp/jail")
            for _ in range(64): os.chdir("..")
            os.chroot(".")
            print("after", sorted(os.listdir("/")))
            """;
        var yaml = $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: escape-}
            spec:
              entrypoint: main
              templates:
              - name: main
                script:
                  image: debian
                  command: [bash]
                  source: |
                    cat > /tmp/escape.py <<'PY'
            {{Indent(escape, 8)}}
                    PY
                    unshare -r python3 /tmp/escape.py
            """;
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(yaml);

        var node = wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        wf.Status.Phase.ShouldBe(WorkflowPhase.Succeeded, t.Logs(wf, node, "stderr"));
        var lines = t.Logs(wf, node).Split('\n');
        var before = lines.Single(l => l.StartsWith("before ", StringComparison.Ordinal))["before ".Length..];
        var after = lines.Single(l => l.StartsWith("after ", StringComparison.Ordinal))["after ".Length..];
        after.ShouldBe(before);
        after.ShouldNotContain(".egw-step-root");
        after.ShouldNotContain("'home'");
    }

    private static bool HostProcessNamed(string marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(marker, StringComparison.Ordinal)) return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return false;
    }
}

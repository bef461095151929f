using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Shouldly;
using EventGateway.Tests.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// The seed examples the local executor passes (params, artifacts, loops, fan-out, retries, continueOn, scripts, DAGs),
/// run again with every step in its image through a real Podman, against the same expectations (SeedFixtureTests).
/// The images their YAML names are made here from busybox (alpine) and the host's python3 (python:3.x-alpine).
/// 11-s0-retry-example.yaml is left out: it exits with $RANDOM % 2, which the host's dash does not have (so the local
/// run succeeds at once, as its expectation says) and busybox's sh does (a real coin: its first attempt fails half the time).
/// </summary>
public sealed class ContainerSeedTests(PodmanService podman) : IClassFixture<PodmanService>
{
    public static TheoryData<string> Seeds() =>
    [
        "01-s0-hello-world.yaml",
        "02-s0-steps-example.yaml",
        "04-s0-params-example.yaml",
        "05-s0-artifacts-example.yaml",
        "07-s0-parallel-loop.yaml",
        "08-s0-fan-out.yaml",
        "09-s0-controlled-backtest.yaml",
        "12-s0-continue-example.yaml",
        "15-s0-nightly-etl.yaml",
        "16-s0-backtest-all-strategies-v2.yaml",
        "17-s0-bounded-data-pipeline.yaml",
        "35-s3-abc-dag.yaml",
        "38-s3-data-pipeline.yaml",
    ];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Runs_to_the_phase_Argo_gives_with_steps_in_their_images(string file)
    {
        await podman.OnceAsync("seed images", async () =>
        {
            await podman.ImportAsync(await podman.BusyboxRootfsAsync("alpine"), "egw-test/alpine:1");
            await PodmanService.TagAsync("egw-test/alpine:1", "docker.io/library/alpine:3.20", "docker.io/library/alpine:3.18", "docker.io/library/alpine:latest");
            await podman.ImportAsync(await podman.PythonRootfsAsync("python"), "egw-test/python:1");
            await PodmanService.TagAsync("egw-test/python:1", "docker.io/library/python:3.12-alpine", "docker.io/library/python:3.11-alpine", "docker.io/library/python:3.11");
        });

        await SeedFixtureTests.RunsToThePhaseArgoGives(file, o => o.ContainerHost = podman.Host, t => t.Engine.Executor.ShouldBeOfType<ContainerExecutor>());
    }
}

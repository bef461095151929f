using Shouldly;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Model.Manifests;

public class DurationsTests
{
    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("500ms", 500)]
    [InlineData("30", 30_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("0", 0)]
    [InlineData("0.25", 250)]
    [InlineData("2h45m", 9_900_000)]
    [InlineData("1h0m0.5s", 3_600_500)]
    [InlineData("1d", 86_400_000)]
    [InlineData(" 10s ", 10_000)]
    [InlineData("1m1m", 120_000)]
    public void Valid_durations(string text, long milliseconds)
    {
        Durations.TryParse(text, out var d).ShouldBeTrue();
        d.ShouldBe(TimeSpan.FromMilliseconds(milliseconds));
        Durations.Parse(text, "test").ShouldBe(TimeSpan.FromMilliseconds(milliseconds));
    }

    [Theory]
    [InlineData("250us", 250)]
    [InlineData("1500ns", 1.5)]
    [InlineData("1ms500us", 1500)]
    public void Sub_millisecond_units(string text, double microseconds)
    {
        Durations.TryParse(text, out var d).ShouldBeTrue();
        d.TotalMicroseconds.ShouldBe(microseconds, 0.001);
    }

    [Fact]
    public void Micro_sign_unit_is_accepted()
    {
        Durations.TryParse("250\u00b5s", out var d).ShouldBeTrue();
        d.TotalMicroseconds.ShouldBe(250, 0.001);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("10x")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    [InlineData("-5")]
    [InlineData("-5s")]
    [InlineData("10S")]
    [InlineData("1h30")]
    [InlineData("s")]
    [InlineData("1..5s")]
    [InlineData("5 s")]
    [InlineData("NaN")]
    public void Invalid_durations(string? text)
    {
        Durations.TryParse(text, out var d).ShouldBeFalse();
        d.ShouldBe(TimeSpan.Zero);
    }

    [Fact]
    public void Parse_names_the_field_and_the_text_when_it_fails()
    {
        var e = Should.Throw<FormatException>(() => Durations.Parse("10x", "retryStrategy.backoff.duration"));
        e.Message.ShouldBe("retryStrategy.backoff.duration: '10x' is not a duration like 10s, 2m or 1h");
    }

    [Theory]
    [InlineData("1e300")]
    [InlineData("Infinity")]
    [InlineData("99999999999999h")]
    public void Out_of_range_durations_return_false(string text)
    {
        Durations.TryParse(text, out _).ShouldBeFalse();
    }
}

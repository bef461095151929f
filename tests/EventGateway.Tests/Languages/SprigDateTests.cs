using Shouldly;
using static EventGateway.Tests.Languages.Env;

namespace EventGateway.Tests.Languages;

/// <summary>sprig.date and sprig.dateInZone with Go layouts, as Argo's examples/expression-tag-template-workflow.yaml uses them.</summary>
public class SprigDateTests
{
    [Theory]
    [InlineData("2006", "2026")]
    [InlineData("2006-01-02T15:04:05Z07:00", "2026-03-04T05:06:07Z")]
    [InlineData("Mon Jan _2 3:04:05 PM MST 06", "Wed Mar  4 5:06:07 AM UTC 26")]
    [InlineData("January 2, 2006 (day 002) 05.000 05.999", "March 4, 2026 (day 063) 07.000 07")]
    [InlineData("Month 2006", "Month 2026")]
    public void Date_formats_unix_seconds_with_a_go_layout(string layout, string expected) =>
        Eval($"sprig.date('{layout}', t)", ("t", 1772600767L)).ShouldBe(expected);

    [Fact]
    public void Date_in_zone_converts_first() =>
        Eval("sprig.dateInZone('2006-01-02 15:04 -07:00', 1772600767, 'Asia/Tokyo')").ShouldBe("2026-03-04 14:06 +09:00");

    [Fact]
    public void A_string_time_is_now_as_in_sprig()
    {
        var before = DateTimeOffset.UtcNow.Year.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var year = (string)Eval("sprig.date('2006', workflow.creationTimestamp)", ("workflow.creationTimestamp", "1999-01-01T00:00:00Z"))!;
        year.ShouldBeOneOf(before, DateTimeOffset.UtcNow.Year.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

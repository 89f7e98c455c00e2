using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Chromium;

namespace CxEngine.Tests.Desk;

/// <summary>
/// Debian's Chromium, headless, driven by its chromedriver through Selenium: the paths are given, so nothing is looked
/// up or downloaded (scripts/test.sh installs the packages when they are missing).
/// </summary>
internal sealed class Browser : IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";
    public const int PhoneWidth = 390;

    private readonly TempDirectory _profile = new("chromium");

    /// <param name="phone">A phone's viewport (390×844, touch), emulated: a desktop window cannot be made that narrow.</param>
    public Browser(bool phone = false)
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(DriverPath))
        {
            throw new InvalidOperationException(
                $"the desk's browser tests need Debian's chromium and chromium-driver ({ChromiumPath}, {DriverPath}); ./scripts/test.sh installs them (apt-get install chromium chromium-driver)");
        }

        Environment.SetEnvironmentVariable("SE_OFFLINE", "true");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,800", $"--user-data-dir={_profile.Path}");
        if (phone)
        {
            options.EnableMobileEmulation(new ChromiumMobileEmulationDeviceSettings { Width = PhoneWidth, Height = 844, PixelRatio = 1, EnableTouchEvents = true, UserAgent = "Mozilla/5.0 (Linux; Android 14) Mobile" });
        }

        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
    }

    public ChromeDriver Driver { get; }

    public void Open(string url) => Driver.Navigate().GoToUrl(url);

    /// <summary>Polls until <paramref name="found"/> gives a value (not null, not false), or fails naming what was awaited.</summary>
    public T Until<T>(Func<IWebDriver, T?> found, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (found(Driver) is { } value && value is not false)
                {
                    return value;
                }
            }
            catch (WebDriverException ex)
            {
                last = ex;
            }

            Thread.Sleep(100);
        }

        throw new Xunit.Sdk.XunitException($"the desk did not show {what} within {seconds} s (at {Driver.Url}){(last is null ? "" : $": {last.Message}")}\n{Text()}");
    }

    public IWebElement? Find(string css) => Driver.FindElements(By.CssSelector(css)).FirstOrDefault();

    public string Text() => Driver.FindElements(By.TagName("main")).FirstOrDefault()?.Text ?? Driver.PageSource[..Math.Min(2000, Driver.PageSource.Length)];

    /// <summary>Saves what the browser shows (the README's screenshots come from these).</summary>
    public void Screenshot(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "desk-screenshots");
        Directory.CreateDirectory(folder);
        Driver.GetScreenshot().SaveAsFile(Path.Combine(folder, $"{name}.png"));
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _profile.Dispose();
    }
}

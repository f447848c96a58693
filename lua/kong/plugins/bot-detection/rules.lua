-- The built-in bot list (Kong's bot-detection facts: the crawler, spider and
-- downloader families of ua-parser's device list). Browsers and generic HTTP
-- clients such as curl, Wget or python-requests are not bots here.
-- Matching is case-sensitive unless a class spells both cases.

local concat = table.concat

-- Agents known by name, with or without a version after them.
local NAMED = {
    "Pingdom\\.com_bot_version_", "facebookexternalhit/", "Google.*/\\+/web/snippet",
    "NING/\\d", "MSIE \\d+\\.\\d+[a-z]?\\d?;.* MSIECrawler",
    -- downloaders and monitoring clients
    "Google-HTTP-Java-Client", "Apache-HttpClient", "http%20client", "Python-urllib",
    "HttpMonitor", "TLSProber", "WinHTTP", "JNLP",
    -- search engines, archivers and feed fetchers without "bot" in their name
    "1470\\.net crawler", "50\\.nu", "Aboundex", "Accoona-[A-z]+-Agent", "altavista",
    "AppEngine-Google", "archive.*?\\.org_bot", "archiver", "Ask Jeeves", "BingPreview",
    "BlogBridge", "BoardReader", "boitho\\.com-dc", "\\b\\w*favicon\\w*\\b", "\\bYeti",
    "[Cc]harlotte", "Checklinks", "clumboot", "Daumoa", "findlinks", "Flamingo_SearchEngine",
    "Genieo", "GomezAgent", "gonzo1", "Google SketchUp", "grub-client", "gsa-crawler",
    "heritrix", "HiddenMarket", "holmes", "HooWWWer", "htdig", "ia_archiver", "Icarus6j",
    "ichiro", "IconSurf", "IlTrovatore", "InfuzApp", "InternetArchive", "Kraken", "Kurzor",
    "larbin", "LEIA", "LinkAider", "Llaut", "lycos", "Mediapartners-Google", "mogimogi",
    "mozDex", "netresearch", "Netvibes", "NewsGator", "Nutch", "Nymesis", "ObjectsSearch",
    "Orbiter", "PagePeeker", "PagesInventory", "PaxleFramework", "Pompos", "Read%20Later",
    "Reaper", "RedCarpet", "Retreiver", "Riddler", "Rival IQ", "scooter", "Scrapy", "Scrubby",
    "searchsight", "semanticdiscovery", "Simpy", "SimplePie", "SEOstats", "SimpleRSS",
    "SiteCon", "Slurp", "snappy", "Squrl Java", "Thumbshots\\.ru", "URL2PNG", "Vagabondo",
    "^vortex", "^voyager", "Web-sniffer", "WebThumb", "WeSEE:[A-z]+", "WhatWeb", "WIRE",
    "WordPress", "Wotbox", "www\\.almaden\\.ibm\\.com", "Xenu(?:.s)? Link Sleuth",
    "yacy", "Yahoo[a-z]*Seeker", "Yandex\\w+", "YottaaMonitor", "Yowedo", "^Zao",
    "ZeBot_www\\.ze\\.bz", "ZooShot", "ZyBorg",
    "Axtaris", "fetchurl", "Isara", "ShopSalad", "Tailsweep", "Altresium", "Argus/\\d",
    "DataparkSearch", "DNSGroup", "Goodzer", "INGRID/\\d", "Infohelfer", "LOOQ/\\d",
    "PathDefender", "Peew/\\d", "PostPost", "Steeler/\\d", "WebCrunch", "WebZIP",
    "Y!J-BR[A-Z]", "envolk", "sproose", "wminer",
}

-- Agents describing themselves: a spider, a scraper, a crawler, an indexer,
-- an archiver, or a bot (not the CUBOT phone brand).
local GENERIC = {
    "[Ss][Pp][Ii][Dd][Ee][Rr]",
    "[Ss]crape",
    "[Cc][Rr][Aa][Ww][Ll]",
    "(?:[Aa]rchiver|[Ii]ndexer)[ /]\\d",
    "[^C][^Uu][Bb]ot",
    "(?:^|[ /;(])[Bb]ot[ /]\\d",
}

local all = {}
for _, rx in ipairs(NAMED) do
    all[#all + 1] = "(?:" .. rx .. ")"
end
for _, rx in ipairs(GENERIC) do
    all[#all + 1] = "(?:" .. rx .. ")"
end

return {
    -- one alternation, compiled once per worker by ngx.re's cache
    bots = concat(all, "|"),
}

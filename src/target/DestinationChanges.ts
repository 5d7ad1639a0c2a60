/**
 * A count of the destination tables walferry created or altered in this process, so that what caches the
 * destination's catalog (MapCatalog, behind `/api/map`) knows it is out of date at once instead of after its
 * maximum age: a table created by the pipeline just after a mapping change is then shown as present.
 */
let changes = 0

/** walferry created or altered a destination table */
export const noteDestinationChange = (): void => {
  changes++
}

/** changes noted so far: a catalog read before the count moved is out of date */
export const destinationChanges = (): number => changes

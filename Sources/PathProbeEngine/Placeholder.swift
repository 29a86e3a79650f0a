import CPathProbe

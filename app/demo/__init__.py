"""The Cotopaxi demo network: data inspired by Redes en Acción, and a whole cycle run on it."""
